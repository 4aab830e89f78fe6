/*
 * execbare: execonly without a C library (x86-64 Linux only).  _start makes
 * the execve system call itself, so nothing runs before it: its cost over
 * the direct call is the kernel's price of one more exec, and execonly's
 * cost over this one is the C library's start-up (glibc probes the CPU and
 * touches its data before main).  REAL_SENDMAIL is set with -D when
 * bench.py compiles it, with -nostdlib -static.
 */
const char execbare_path[] = REAL_SENDMAIL;

/* At _start the stack holds argc, then argv[0..argc-1], NULL, then envp. */
__asm__(
	".globl _start\n"
	"_start:\n"
	"	mov (%rsp), %rcx\n"			/* argc */
	"	lea 8(%rsp), %rsi\n"			/* argv */
	"	lea 16(%rsp,%rcx,8), %rdx\n"		/* envp, past argv's NULL */
	"	lea execbare_path(%rip), %rdi\n"
	"	mov $59, %eax\n"			/* execve */
	"	syscall\n"
	"	mov $111, %edi\n"			/* it failed: exit 111 */
	"	mov $60, %eax\n"			/* exit */
	"	syscall\n");
