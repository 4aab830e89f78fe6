/* kencode.c: the worker's side of the keeper's protocol (kproto.h): its requests, written. */
#include "kproto.h"

#include <stdint.h>
#include <string.h>

/* The worker's writer: a request too long for KPROTO_REQ_MAX is not sent at all. */
struct out {
	unsigned char *p;
	size_t len;
	int over;
};

static void
put(struct out *o, const void *v, size_t n)
{
	if (o->over || n > KPROTO_REQ_MAX - o->len) {
		o->over = 1;
		return;
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
}

static void
put_u32(struct out *o, uint32_t v)
{
	put(o, &v, sizeof v);
}

static void
put_i64(struct out *o, long long v)
{
	int64_t w = v;

	put(o, &w, sizeof w);
}

static void
put_bytes(struct out *o, const char *s, size_t n, size_t cut)
{
	if (s == NULL) {
		put_u32(o, KPROTO_NONE);
		return;
	}
	if (n > cut)
		n = cut;
	put_u32(o, (uint32_t)n);
	put(o, s, n);
	put(o, "", 1);
}

static void
put_str(struct out *o, const char *s, size_t cut)
{
	put_bytes(o, s, s == NULL ? 0 : strnlen(s, cut), cut);
}

static size_t
done(struct out *o)
{
	return o->over ? 0 : o->len;
}

size_t
kproto_record(unsigned char *p, const struct record *r)
{
	struct out o = { p, 0, 0 };
	const struct strv *v[] = { &r->from, &r->subject, &r->message_id, &r->php_script };
	int nenv = r->nenv < KPROTO_ENV_MAX ? r->nenv : KPROTO_ENV_MAX;
	int argc = r->argc < KPROTO_LIST_MAX ? r->argc : KPROTO_LIST_MAX;
	size_t nrcpt = r->nrcpt < KPROTO_LIST_MAX ? r->nrcpt : KPROTO_LIST_MAX;
	int nparents = r->nparents < RECORD_MAX_PARENTS ? r->nparents : RECORD_MAX_PARENTS;

	put_u32(&o, KREQ_RECORD);
	put_i64(&o, r->ts.tv_sec);
	put_i64(&o, r->ts.tv_nsec);
	put_str(&o, r->id, KPROTO_STR_CUT);
	put_str(&o, r->action, KPROTO_STR_CUT);
	put_str(&o, r->mode, KPROTO_STR_CUT);
	put_str(&o, r->cwd, KPROTO_STR_CUT);
	put_str(&o, r->script, KPROTO_STR_CUT);
	put_str(&o, r->script_from, KPROTO_STR_CUT);
	put_u32(&o, r->script_unresolved != 0);
	put_str(&o, r->origin, KPROTO_STR_CUT);
	put_str(&o, r->origin_from, KPROTO_STR_CUT);
	put_str(&o, r->origin_info, KPROTO_STR_CUT);
	put_str(&o, r->origin_info_from, KPROTO_STR_CUT);
	put_u32(&o, (uint32_t)nparents);
	for (int i = 0; i < nparents; i++) {
		put_i64(&o, r->parents[i].pid);
		put_i64(&o, r->parents[i].uid);
		put_str(&o, r->parents[i].exe, KPROTO_STR_CUT);
		put_bytes(&o, r->parents[i].argv, r->parents[i].argvlen, KPROTO_PARGV_MAX);
	}
	put_u32(&o, (uint32_t)nenv);
	for (int i = 0; i < nenv; i++) {
		put_str(&o, r->env[i].name, KPROTO_STR_CUT);
		put_str(&o, r->env[i].value, KPROTO_STR_CUT);
	}
	put_u32(&o, (uint32_t)argc);
	for (int i = 0; i < argc; i++)
		put_str(&o, r->argv[i], KPROTO_ITEM_CUT);
	put_str(&o, r->sender, KPROTO_STR_CUT);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		put_bytes(&o, v[i]->p, v[i]->n, KPROTO_STR_CUT);
	put_u32(&o, r->rcpt != NULL);
	if (r->rcpt != NULL) {
		put_u32(&o, (uint32_t)nrcpt);
		for (size_t i = 0; i < nrcpt; i++)
			put_bytes(&o, r->rcpt[i].p, r->rcpt[i].n, KPROTO_ITEM_CUT);
		put_i64(&o, r->rcpt_count);
	}
	put_i64(&o, r->forged_header);
	put_u32(&o, r->truncated != 0);
	put_str(&o, r->error, KPROTO_STR_CUT);
	return done(&o);
}

size_t
kproto_limits(unsigned char *p, long long recipients, const char *script, const char *cwd)
{
	struct out o = { p, 0, 0 };

	put_u32(&o, KREQ_LIMITS);
	put_i64(&o, recipients);
	put_str(&o, script, PATH_MAX);
	put_str(&o, cwd, PATH_MAX);
	return done(&o);
}

size_t
kproto_hold_open(unsigned char *p, const char *cwd, const char *script,
    const char *script_from, const char *sender, char *const rcpt[], int nrcpt)
{
	struct out o = { p, 0, 0 };

	put_u32(&o, KREQ_HOLD_OPEN);
	put_str(&o, cwd, PATH_MAX);
	put_str(&o, script, PATH_MAX);
	put_str(&o, script_from, KPROTO_STR_CUT);
	put_str(&o, sender, KPROTO_ADDR_MAX);
	if (sender != NULL) {
		put_u32(&o, (uint32_t)nrcpt);
		for (int i = 0; i < nrcpt; i++)
			put_str(&o, rcpt[i], KPROTO_ADDR_MAX);
	}
	/* Cut, it would hold another message than the one the caller sent. */
	if (sender != NULL && (nrcpt > KPROTO_RCPT_MAX || strlen(sender) >= KPROTO_ADDR_MAX))
		return 0;
	for (int i = 0; sender != NULL && i < nrcpt; i++)
		if (strlen(rcpt[i]) >= KPROTO_ADDR_MAX)
			return 0;
	return done(&o);
}

size_t
kproto_plain(unsigned char *p, enum kreq_type type)
{
	struct out o = { p, 0, 0 };

	put_u32(&o, (uint32_t)type);
	return done(&o);
}
