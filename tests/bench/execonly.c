/*
 * execonly: the least a wrapper can do, exec the real sendmail and nothing
 * else.  bench.py times it beside qwrap-sendmail: the difference between the
 * two is qwrap's own work, and this one's cost over the direct call is the
 * price of one more exec, which no wrapper can avoid.  REAL_SENDMAIL is set
 * with -D when bench.py compiles it.
 */
#include <unistd.h>

int
main(int argc, char *argv[], char *envp[])
{
	(void)argc;
	execve(REAL_SENDMAIL, argv, envp);
	return 111;
}
