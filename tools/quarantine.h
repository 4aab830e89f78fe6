/*
 * quarantine.h: where qwrap purge puts the messages it takes out of a qmail
 * queue, and how a purge that stopped half way is finished.
 *
 * ROOT (root's, 0700) holds one directory per purge, named by its local
 * time (20261207-141503), with a manifest of JSON lines and one directory per
 * message, named by its queue id, holding the message's files under their
 * kind's name: mess, info, local, remote, todo, intd, bounce; and entry,
 * the manifest line of the move.
 *
 * The manifest: {"type":"purge",...} first, then {"type":"moved","id":..}
 * for each message moved, {"type":"restored",...} for each qwrap restore
 * put back, and {"type":"end",...} once every removal of the purge is on
 * disk.  A purge without its end line stopped half way; quarantine_recover
 * finishes it.
 */
#ifndef QWRAP_QUARANTINE_H
#define QWRAP_QUARANTINE_H

#include <limits.h>
#include <stddef.h>

#define QR_ERR_MAX (PATH_MAX * 2 + 128)
#define QR_NAME_MAX 32

struct quarantine {
	int dirfd;		/* the purge's directory */
	int manifest;		/* its manifest, opened to append */
	int queuefd;		/* the queue */
	int rootfd;		/* the quarantine, locked */
	char name[QR_NAME_MAX];
	long moved;
};

/*
 * Starts a purge of QUEUE: makes ROOT if needed and the purge's directory in
 * it, and writes the manifest's first line, with COMMAND (the purge's argv,
 * as JSON).  0, or -1 with ERR.
 */
int quarantine_begin(struct quarantine *qr, const char *root, const char *queue,
    const char *command, char err[QR_ERR_MAX]);

/*
 * Moves message ID of split directory SPLIT out of the queue into the purge.
 * FIELDS is what the manifest says of it besides its place and checksum
 * (JSON members, without braces).  1 moved; 0 not taken, with the reason in
 * ERR (not whole in the queue: qmail-queue has not finished it, or it is
 * gone); -1 with ERR when the purge must stop.
 *
 * The steps, and what a crash after each leaves: the files are copied into
 * ID.part and made durable (the queue has the message; ID.part is
 * discarded); ID.part becomes ID (the copy is whole: from here the message is
 * the quarantine's); the queue's files are removed, qmail-send's markers
 * (info, todo) first, so that no qmail-send ever sees part of it, and mess
 * last, so that its inode, which is its id, is not reused while a file
 * named by it is left; the manifest gets its line.  quarantine_recover
 * finishes any of these.
 */
int quarantine_move(struct quarantine *qr, const char *split, unsigned long id,
    const char *fields, char err[QR_ERR_MAX]);

/*
 * Ends the purge: when COMPLETE, makes every removal durable and writes the
 * end line (0, or -1 with ERR); else leaves it for quarantine_recover.
 */
int quarantine_end(struct quarantine *qr, int complete, const char *summary,
    char err[QR_ERR_MAX]);

/*
 * Finishes each purge under ROOT that has no end line: drops copies that were
 * never whole, removes from its queue what a whole copy still has there
 * (the same bytes), writes the missing manifest lines and the end line.
 * Needs qmail-send stopped, as a purge does.  The purges finished, or -1
 * with ERR.
 */
long quarantine_recover(const char *root, char err[QR_ERR_MAX]);

/*
 * Takes ROOT's lock, as a purge holds it, for a restore: the descriptor to
 * close at the end, or -1 with ERR.
 */
int quarantine_lock(const char *root, char err[QR_ERR_MAX]);

/*
 * Appends LINE (one JSON object, no newline) to purge NAME's manifest, under
 * the lock quarantine_lock took.  0, or -1 with ERR.
 */
int quarantine_note(const char *root, const char *name, const char *line, char err[QR_ERR_MAX]);

/* A purge as its manifest tells it (a torn last line is not read). */
struct qr_manifest {
	char queue[PATH_MAX];
	long time;
	char command[4096];	/* raw JSON */
	int header, ended;
	long moved, restored;	/* messages; each restored once at least */
	unsigned long *ids;	/* moved, in order */
	unsigned char *state;	/* per ids[]: QR_MOVED, QR_RESTORING or QR_RESTORED, | QR_EVER */
	size_t n, cap;
	size_t *order;		/* ids[] positions by id, once the end line is read */
};

/*
 * A restore notes "restoring" before it runs qmail-queue and "restored"
 * after ("unrestored" when qmail-queue's status says it queued nothing): one
 * that stopped between the two may have queued the message.
 */
enum { QR_MOVED, QR_RESTORING, QR_RESTORED, QR_EVER = 0x80 /* restored once at least */ };

/* Reads purge NAME's manifest into M.  0, or -1 with ERR (also when it has no header). */
int quarantine_manifest(const char *root, const char *name, struct qr_manifest *m,
    char err[QR_ERR_MAX]);

/* The position of message ID in M's ids[], or -1. */
long qr_index(const struct qr_manifest *m, unsigned long id);

void quarantine_manifest_free(struct qr_manifest *m);

/* Whether NAME can be a purge's name (no slash, no dot first). */
int quarantine_name_ok(const char *name);

#endif
