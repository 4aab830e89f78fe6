/*
 * rate.h: messages over time: qwrap rate's intervals, and the sparkline of
 * each row of qwrap top on a terminal.
 */
#ifndef QWRAP_RATE_H
#define QWRAP_RATE_H

#include "report.h"
#include "tally.h"

#define SPARK_MARKS 32		/* the most marks of a row; each row's tally_row.marks */

/*
 * The time window of every row's marks: mark I counts the messages from
 * ORIGIN + I * WIDTH on, for WIDTH ms.  It grows (WIDTH doubles, ORIGIN moves
 * back by whole marks) when a record falls outside it, so a mark never has
 * to be split and memory stays SPARK_MARKS counts per row.
 */
struct spark {
	long long origin, width;	/* ms */
	long long min, max;		/* the first and last record placed */
	long long since, until;		/* ms: with since >= 0, the window to show (--since) */
	int started, placed;
};

/* A window for --since SINCE (< 0: none) to UNTIL; without, the first record starts it. */
void spark_init(struct spark *s, long long since, long long until);

/* Counts a message at TS into ROW's marks, the window grown for T's rows first; -1: no memory. */
int spark_add(struct spark *s, struct tally *t, struct tally_row *row, long long ts);

/* On top's terminal: the line saying what the marks span, and the width of their column. */
int spark_heading(const struct spark *s);

/* ROW's marks, padded to the column spark_heading gave. */
void spark_print(const struct spark *s, const struct tally_row *row);

/* qwrap rate: 0 or a sysexits code, as report_top. */
int report_rate(struct report *rp);

#endif
