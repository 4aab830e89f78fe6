/*
 * kproto.c: the keeper's side of its protocol (kproto.h): the request
 * decoder, every length and count checked before it is used.
 */
#include "kproto.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* The keeper's reader: any length past what is left, or past its bound, is malformed. */
struct in {
	const unsigned char *p;
	size_t n, off;
	int bad;
};

/* N bytes into V; zeros once anything was malformed. */
static void
get(struct in *i, void *v, size_t n)
{
	if (i->bad || i->n - i->off < n) {
		i->bad = 1;
		memset(v, 0, n);
		return;
	}
	memcpy(v, i->p + i->off, n);
	i->off += n;
}

static uint32_t
get_u32(struct in *i)
{
	uint32_t v;

	get(i, &v, sizeof v);
	return v;
}

static long long
get_i64(struct in *i)
{
	int64_t v;

	get(i, &v, sizeof v);
	return v;
}

/* Bytes of at most MAX, NUL-terminated in the datagram; NULL for none, or when malformed. */
static const char *
get_bytes(struct in *i, size_t *len, size_t max)
{
	uint32_t n = get_u32(i);
	const char *s;

	*len = 0;
	if (i->bad || n == KPROTO_NONE)
		return NULL;
	if (n > max || i->n - i->off < (size_t)n + 1 || i->p[i->off + n] != '\0') {
		i->bad = 1;
		return NULL;
	}
	s = (const char *)i->p + i->off;
	i->off += (size_t)n + 1;
	*len = n;
	return s;
}

/* A C string: no NUL inside; NEEDED: it must be there. */
static const char *
get_str(struct in *i, size_t max, int needed)
{
	size_t n;
	const char *s = get_bytes(i, &n, max);

	if ((s == NULL && needed) || (s != NULL && strlen(s) != n))
		i->bad = 1;
	return i->bad ? NULL : s;
}

static struct strv
get_strv(struct in *i, size_t max)
{
	struct strv v;

	v.p = get_bytes(i, &v.n, max);
	return v;
}

static int
one_of(const char *s, const char *const set[], size_t n)
{
	for (size_t k = 0; s != NULL && k < n; k++)
		if (strcmp(s, set[k]) == 0)
			return 1;
	return 0;
}

int
kproto_id_ok(const char *id)
{
	size_t n = id == NULL ? 0 : strlen(id);

	return n > 0 && n < RECORD_ID_LEN && id[0] != '.' &&
	    strspn(id, "0123456789abcdef.") == n;
}

static void
get_record(struct in *i, struct kreq *q)
{
	static const char *const actions[] = { "deliver", "hold", "reject", "passthrough" };
	static const char *const modes[] = { "message", "smtp", "queue-list", "other" };
	struct record *r = &q->rec;
	struct strv *v[] = { &r->from, &r->subject, &r->message_id, &r->php_script };
	uint32_t n;

	r->ts.tv_sec = (time_t)get_i64(i);
	r->ts.tv_nsec = (long)get_i64(i);
	r->id = get_str(i, RECORD_ID_LEN, 1);
	r->action = get_str(i, KPROTO_STR_CUT, 1);
	r->mode = get_str(i, KPROTO_STR_CUT, 1);
	if (!i->bad && (!kproto_id_ok(r->id) || !one_of(r->action, actions, 4) ||
	    !one_of(r->mode, modes, 4)))
		i->bad = 1;
	r->cwd = get_str(i, KPROTO_STR_CUT, 0);
	r->script = get_str(i, KPROTO_STR_CUT, 0);
	r->script_from = get_str(i, KPROTO_STR_CUT, 0);
	if ((n = get_u32(i)) > 1)
		i->bad = 1;
	r->script_unresolved = (int)n;
	/* From the record's vocabulary only, each pair whole or absent: top groups by them. */
	r->origin = get_str(i, KPROTO_STR_CUT, 0);
	r->origin_from = get_str(i, KPROTO_STR_CUT, 0);
	r->origin_info = get_str(i, KPROTO_STR_CUT, 0);
	r->origin_info_from = get_str(i, KPROTO_STR_CUT, 0);
	if (!i->bad && ((r->origin != NULL) != (r->origin_from != NULL) ||
	    (r->origin_info != NULL) != (r->origin_info_from != NULL) ||
	    (r->origin_info != NULL && r->origin == NULL) ||
	    (r->origin != NULL && (!one_of(r->origin, record_origin_kinds, RECORD_ORIGIN_KINDS) ||
	    !one_of(r->origin_from, record_origin_froms, RECORD_ORIGIN_FROMS))) ||
	    (r->origin_info != NULL && !one_of(r->origin_info_from, record_origin_info_froms,
	    RECORD_ORIGIN_INFO_FROMS))))
		i->bad = 1;
	if ((n = get_u32(i)) > RECORD_MAX_PARENTS)
		i->bad = 1;
	for (uint32_t k = 0; !i->bad && k < n; k++) {
		struct rec_parent *p = &q->parents[k];

		p->pid = (long)get_i64(i);
		p->uid = (long)get_i64(i);
		p->exe = get_str(i, KPROTO_STR_CUT, 0);
		if ((p->argv = get_bytes(i, &p->argvlen, KPROTO_PARGV_MAX)) == NULL)
			i->bad = 1;
	}
	r->parents = q->parents;
	r->nparents = (int)n;
	if ((n = get_u32(i)) > KPROTO_ENV_MAX)
		i->bad = 1;
	for (uint32_t k = 0; !i->bad && k < n; k++) {
		/* A name is written as a key, as it is: only the record's own names. */
		q->env[k].name = get_str(i, KPROTO_STR_CUT, 1);
		q->env[k].value = get_str(i, KPROTO_STR_CUT, 0);
		if (!i->bad && !one_of(q->env[k].name, record_env_names, RECORD_ENV_MAX))
			i->bad = 1;
		/* Once each: a key twice would be read two ways. */
		for (uint32_t j = 0; !i->bad && j < k; j++)
			if (strcmp(q->env[j].name, q->env[k].name) == 0)
				i->bad = 1;
	}
	r->env = q->env;
	r->nenv = (int)n;
	if ((n = get_u32(i)) > KPROTO_LIST_MAX)
		i->bad = 1;
	for (uint32_t k = 0; !i->bad && k < n; k++)
		q->argv[k] = (char *)get_str(i, KPROTO_ITEM_CUT, 1);
	q->argv[i->bad ? 0 : n] = NULL;
	r->argv = q->argv;
	r->argc = (int)n;
	r->sender = get_str(i, KPROTO_STR_CUT, 0);
	for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
		*v[k] = get_strv(i, KPROTO_STR_CUT);
	r->rcpt = NULL;
	if ((n = get_u32(i)) > 1)
		i->bad = 1;
	if (n == 1) {
		if ((n = get_u32(i)) > KPROTO_LIST_MAX)
			i->bad = 1;
		for (uint32_t k = 0; !i->bad && k < n; k++)
			if ((q->rcpt[k] = get_strv(i, KPROTO_ITEM_CUT)).p == NULL)
				i->bad = 1;
		r->rcpt = q->rcpt;
		r->nrcpt = n;
		r->rcpt_count = (long)get_i64(i);
	}
	r->forged_header = (int)get_i64(i);
	r->truncated = get_u32(i) != 0;
	r->error = get_str(i, KPROTO_STR_CUT, 0);
}

static void
get_hold_open(struct in *i, struct kreq *q)
{
	uint32_t n;

	q->cwd = get_str(i, PATH_MAX, 0);
	q->script = get_str(i, PATH_MAX, 0);
	q->script_from = get_str(i, KPROTO_STR_CUT, 0);
	q->sender = get_str(i, KPROTO_ADDR_MAX, 0);
	q->nhold_rcpt = 0;
	if (q->sender == NULL)
		return;
	if ((n = get_u32(i)) > KPROTO_RCPT_MAX)
		i->bad = 1;
	for (uint32_t k = 0; !i->bad && k < n; k++)
		q->hold_rcpt[k] = get_str(i, KPROTO_ADDR_MAX, 1);
	q->nhold_rcpt = (int)n;
}

int
kproto_decode(const unsigned char *p, size_t n, struct kreq *q)
{
	struct in i = { p, n, 0, 0 };

	memset(q, 0, sizeof *q);
	switch (q->type = (enum kreq_type)get_u32(&i)) {
	case KREQ_RECORD:
		get_record(&i, q);
		break;
	case KREQ_LIMITS:
		q->recipients = get_i64(&i);
		q->script = get_str(&i, PATH_MAX, 0);
		q->cwd = get_str(&i, PATH_MAX, 1);
		/* At most what an honest worker sends for "too many to count". */
		if (q->recipients < 0 || q->recipients > LONG_MAX / 2)
			i.bad = 1;
		break;
	case KREQ_HOLD_OPEN:
		get_hold_open(&i, q);
		break;
	case KREQ_HOLD_COMMIT:
	case KREQ_HOLD_ABORT:
		break;
	default:
		i.bad = 1;
	}
	/* Nothing may follow the last field. */
	return i.bad || i.off != i.n ? -1 : 0;
}
