/*
 * rvbench.c
 *	  libpq client for the ruvector_tam demo and benchmark (make demo,
 *	  make bench).  Prepared statements, binary parameters and binary
 *	  results, so the figures measure the server rather than a client.
 *
 * Connects with the standard PG* environment variables.  Commands:
 *
 *	 rvbench load   -t TABLE -f FILE [-C CHUNK]
 *		 COPY FILE (COPY text rows) into TABLE through COPY FROM STDIN, one
 *		 COPY per CHUNK rows (default 5000), drawing a progress bar.
 *	 rvbench build  -S "CREATE INDEX ..."
 *		 Runs the statement on one connection and polls
 *		 pg_stat_progress_create_index from a second one, drawing a bar.
 *	 rvbench truth  -t TABLE -q QFILE -n NQ -o OUT [-j JOBS]
 *		 Exact top-10 ids of the first NQ queries (enable_indexscan and
 *		 enable_bitmapscan off), JOBS connections in parallel; writes one
 *		 line of 10 ids per query to OUT.
 *	 rvbench search -t TABLE -q QFILE -n NQ [-T TRUTH] [-s GUC=VAL]...
 *					[-j JOBS] [-w WARMUP] [-o OUT]
 *		 Runs k=10 queries and prints recall@10 (against TRUTH), QPS, p50 and
 *		 p99 latency.  -s runs SET GUC = VAL on each connection first.
 *	 rvbench insert -t TABLE -q QFILE -n N -i FIRST_ID
 *		 N single-row INSERTs (autocommit) of the query vectors with ids
 *		 from FIRST_ID; prints rows/s.
 *
 * Query files are COPY text rows "id <TAB> label <TAB> [x1,...,xd]".
 * Result lines on stdout are "key=value" pairs for the calling script;
 * progress goes to stderr.
 *
 * Options common to all: -c COLUMN (default embedding), -k K (default 10),
 * -y TYPE (default ruvector): the type the vector parameters of search,
 * truth and insert are cast to.  Any type whose binary input is pgvector's
 * (int16 dim, int16 0, dim float4, big-endian) and whose <-> is the L2
 * distance works, such as pgvector's vector.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

#define MAX_SETS 16
#define MAX_K 100

/* One query: its label and vector in network byte order, ready to send */
typedef struct Query
{
	long		id;
	int			label;
	int			dim;
	char	   *bin;			/* int16 dim, int16 0, dim float4, all BE */
	int			binlen;
	float	   *x;				/* host order, for INSERT text building */
} Query;

/* Command-line options */
typedef struct Opts
{
	const char *cmd;
	const char *table;
	const char *column;
	const char *type;
	const char *file;
	const char *qfile;
	const char *truth;
	const char *out;
	const char *sql;
	const char *sets[MAX_SETS];
	int			nsets;
	int			nq;
	int			jobs;
	int			warmup;
	int			chunk;
	int			k;
	long		first_id;
} Opts;

static Opts opt;

/*
 * die: prints a message and exits with status 1.
 */
static void
die(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "rvbench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * now_s: monotonic clock in seconds.
 */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * connect_db: opens a connection from the PG* environment or dies.
 */
static PGconn *
connect_db(void)
{
	PGconn	   *conn = PQconnectdb("");

	if (PQstatus(conn) != CONNECTION_OK)
		die("connection failed: %s", PQerrorMessage(conn));
	return conn;
}

/*
 * exec_ok: runs a statement that returns no rows (or rows we ignore) and
 * dies on error.
 */
static void
exec_ok(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
		PQresultStatus(res) != PGRES_TUPLES_OK)
		die("%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
}

/*
 * apply_sets: runs "SET name = value" for each -s option on conn.
 */
static void
apply_sets(PGconn *conn)
{
	char		sql[512];

	for (int i = 0; i < opt.nsets; i++)
	{
		const char *eq = strchr(opt.sets[i], '=');

		if (eq == NULL)
			die("-s expects GUC=VALUE, got \"%s\"", opt.sets[i]);
		snprintf(sql, sizeof(sql), "SET %.*s = '%s'",
				 (int) (eq - opt.sets[i]), opt.sets[i], eq + 1);
		exec_ok(conn, sql);
	}
}

/*
 * progress: draws "label [#####.....] done/total extra" on stderr.  On a
 * terminal the bar is redrawn in place; otherwise a line is printed each
 * time another tenth is done (and at the end) to keep logs short.
 */
static void
progress(const char *label, double done, double total, const char *extra)
{
	static int	last_tenth = -1;
	static const char *last_label = NULL;
	int			width = 30;
	double		frac = total > 0 ? done / total : 0;
	int			fill;
	char		bar[64];
	int			tty = isatty(STDERR_FILENO);

	if (frac > 1)
		frac = 1;
	fill = (int) (frac * width);
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	if (label != last_label)
	{
		last_label = label;
		last_tenth = -1;
	}
	if (!tty)
	{
		int			tenth = (int) (frac * 10);

		if (tenth == last_tenth)
			return;
		last_tenth = tenth;
	}
	fprintf(stderr, "%s%-22s [%s] %3.0f%% %s%s", tty ? "\r" : "", label, bar,
			frac * 100, extra ? extra : "", tty ? "\033[K" : "\n");
	fflush(stderr);
}

/*
 * progress_end: finishes a bar drawn in place on a terminal.
 */
static void
progress_end(void)
{
	if (isatty(STDERR_FILENO))
		fputc('\n', stderr);
}

/*
 * parse_vector: parses "[a,b,...]" into a malloc'd float array; returns
 * the dimension count.
 */
static int
parse_vector(const char *s, float **out)
{
	int			cap = 1024;
	int			n = 0;
	float	   *x = malloc(cap * sizeof(float));
	char	   *end;

	while (*s && *s != '[')
		s++;
	if (*s != '[')
		die("bad vector text");
	s++;
	for (;;)
	{
		while (isspace((unsigned char) *s))
			s++;
		if (*s == ']')
			break;
		if (n == cap)
		{
			cap *= 2;
			x = realloc(x, cap * sizeof(float));
		}
		errno = 0;
		x[n++] = strtof(s, &end);
		if (end == s || errno != 0)
			die("bad vector element near \"%.20s\"", s);
		s = end;
		while (isspace((unsigned char) *s))
			s++;
		if (*s == ',')
			s++;
		else if (*s != ']')
			die("bad vector text near \"%.20s\"", s);
	}
	*out = x;
	return n;
}

/*
 * read_queries: reads up to max rows "id <TAB> label <TAB> vector" from
 * path and builds their binary ruvector images.  Returns the count read.
 */
static int
read_queries(const char *path, int max, Query **out)
{
	FILE	   *f = fopen(path, "r");
	Query	   *q;
	char	   *line = NULL;
	size_t		cap = 0;
	int			n = 0;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	q = calloc(max, sizeof(Query));
	while (n < max && getline(&line, &cap, f) > 0)
	{
		char	   *tab1 = strchr(line, '\t');
		char	   *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		char	   *p;

		if (tab2 == NULL)
			die("%s: line %d is not \"id<TAB>label<TAB>vector\"", path, n + 1);
		q[n].id = strtol(line, NULL, 10);
		q[n].label = (int) strtol(tab1 + 1, NULL, 10);
		q[n].dim = parse_vector(tab2 + 1, &q[n].x);
		q[n].binlen = 4 + 4 * q[n].dim;
		q[n].bin = malloc(q[n].binlen);
		p = q[n].bin;
		{
			uint16_t	d = htobe16((uint16_t) q[n].dim);
			uint16_t	z = 0;

			memcpy(p, &d, 2);
			memcpy(p + 2, &z, 2);
		}
		for (int i = 0; i < q[n].dim; i++)
		{
			uint32_t	u;

			memcpy(&u, &q[n].x[i], 4);
			u = htobe32(u);
			memcpy(p + 4 + 4 * i, &u, 4);
		}
		n++;
	}
	free(line);
	fclose(f);
	*out = q;
	return n;
}

/*
 * prepare_knn: prepares statement "knn": the k nearest ids to $1 (cast to
 * opt.type) by <->.
 */
static void
prepare_knn(PGconn *conn)
{
	char		sql[1024];
	PGresult   *res;

	snprintf(sql, sizeof(sql),
			 "SELECT id FROM %s ORDER BY %s OPERATOR(<->) $1::%s LIMIT %d",
			 opt.table, opt.column, opt.type, opt.k);
	res = PQprepare(conn, "knn", sql, 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die("prepare: %s", PQerrorMessage(conn));
	PQclear(res);
}

/*
 * run_knn: executes "knn" for q with a binary parameter and binary result;
 * stores up to k ids in ids (rest -1) and returns the seconds it took.
 */
static double
run_knn(PGconn *conn, const Query *q, int64_t *ids)
{
	const char *values[1] = {q->bin};
	int			lengths[1] = {q->binlen};
	int			formats[1] = {1};
	double		t0 = now_s();
	double		t1;
	PGresult   *res;
	int			n;

	res = PQexecPrepared(conn, "knn", 1, values, lengths, formats, 1);
	t1 = now_s();
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die("query %ld: %s", q->id, PQerrorMessage(conn));
	n = PQntuples(res);
	for (int i = 0; i < opt.k; i++)
	{
		if (i < n)
		{
			uint64_t	v;

			if (PQgetlength(res, i, 0) != 8)
				die("unexpected id width %d", PQgetlength(res, i, 0));
			memcpy(&v, PQgetvalue(res, i, 0), 8);
			ids[i] = (int64_t) be64toh(v);
		}
		else
			ids[i] = -1;
	}
	PQclear(res);
	return t1 - t0;
}

/* Shared between the parent and the workers of truth/search */
typedef struct Shared
{
	volatile int done;			/* queries finished, all workers */
	double		end[64];		/* per worker: monotonic time it finished */
	double		lat[];			/* per query seconds */
} Shared;

/*
 * run_parallel: runs the first nq queries over opt.jobs forked workers,
 * each on its own connection taking every jobs-th query, after opt.warmup
 * untimed warm-up queries per worker.  Fills ids (nq * k, shared) and
 * returns latencies (nq); *wall gets the timed wall-clock seconds.
 */
static double *
run_parallel(Query *q, int nq, int64_t *ids, const char *label, double *wall,
			 int exact)
{
	size_t		shsize = sizeof(Shared) + nq * sizeof(double);
	Shared	   *sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE,
						  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int			jobs = opt.jobs < 1 ? 1 : opt.jobs;
	int			nworkers = jobs;
	int			ready[2];
	int			go[2];
	double		t0;
	double	   *lat;
	int			failed = 0;
	long		polls = 0;

	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (jobs > 64)
		die("at most 64 jobs");
	if (pipe(ready) != 0 || pipe(go) != 0)
		die("pipe: %s", strerror(errno));
	for (int w = 0; w < jobs; w++)
	{
		pid_t		pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0)
		{
			PGconn	   *conn = connect_db();
			int64_t		tmp[MAX_K];
			char		c;

			if (exact)
			{
				exec_ok(conn, "SET enable_indexscan = off");
				exec_ok(conn, "SET enable_bitmapscan = off");
			}
			apply_sets(conn);
			prepare_knn(conn);
			for (int i = 0; i < opt.warmup && i < nq; i++)
				run_knn(conn, &q[(i * jobs + w) % nq], tmp);
			/* tell the parent we are warm, wait for the start signal */
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(1);
			for (int i = w; i < nq; i += jobs)
			{
				sh->lat[i] = run_knn(conn, &q[i], &ids[(size_t) i * opt.k]);
				__sync_fetch_and_add(&sh->done, 1);
			}
			sh->end[w] = now_s();
			PQfinish(conn);
			_exit(0);
		}
	}
	for (int w = 0; w < jobs; w++)
	{
		char		c;

		if (read(ready[0], &c, 1) != 1)
			die("a worker failed before starting");
	}
	t0 = now_s();
	for (int w = 0; w < jobs; w++)
		if (write(go[1], "g", 1) != 1)
			die("pipe write: %s", strerror(errno));
	for (;;)
	{
		int			status;
		pid_t		pid = waitpid(-1, &status, WNOHANG);
		char		extra[128];
		double		el = now_s() - t0;

		if (pid > 0)
		{
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				failed = 1;
			if (--jobs == 0)
				break;
			continue;
		}
		/* reap workers promptly, redraw the bar every 0.2 s */
		if (label && ++polls % 10 == 0)
		{
			snprintf(extra, sizeof(extra), "%d/%d queries %.0f s", sh->done, nq, el);
			progress(label, sh->done, nq, extra);
		}
		usleep(20000);
	}
	/* timed from the start signal to the last worker's last query */
	*wall = 0;
	for (int w = 0; w < nworkers; w++)
		if (sh->end[w] - t0 > *wall)
			*wall = sh->end[w] - t0;
	if (label)
	{
		char		extra[128];

		snprintf(extra, sizeof(extra), "%d/%d queries %.1f s", sh->done, nq, *wall);
		progress(label, nq, nq, extra);
		progress_end();
	}
	if (failed)
		die("a query worker failed");
	lat = malloc(nq * sizeof(double));
	memcpy(lat, sh->lat, nq * sizeof(double));
	munmap(sh, shsize);
	return lat;
}

/*
 * shared_ids: an nq x k id array visible to forked workers.
 */
static int64_t *
shared_ids(int nq)
{
	int64_t    *ids = mmap(NULL, (size_t) nq * opt.k * sizeof(int64_t),
						   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
						   -1, 0);

	if (ids == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	return ids;
}

/*
 * cmp_double: qsort comparator for doubles.
 */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * write_ids: writes nq lines of k ids to path.
 */
static void
write_ids(const char *path, const int64_t *ids, int nq)
{
	FILE	   *f = fopen(path, "w");

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	for (int i = 0; i < nq; i++)
		for (int j = 0; j < opt.k; j++)
			fprintf(f, "%lld%c", (long long) ids[(size_t) i * opt.k + j],
					j == opt.k - 1 ? '\n' : ' ');
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/*
 * read_ids: reads up to nq lines of k ids from path into a malloc'd array;
 * *nread gets the number of complete lines (queries) read.
 */
static int64_t *
read_ids(const char *path, int nq, int *nread)
{
	FILE	   *f = fopen(path, "r");
	int64_t    *ids = malloc((size_t) nq * opt.k * sizeof(int64_t));
	size_t		i;

	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	for (i = 0; i < (size_t) nq * opt.k; i++)
	{
		long long	v;

		if (fscanf(f, "%lld", &v) != 1)
			break;
		ids[i] = v;
	}
	fclose(f);
	*nread = (int) (i / opt.k);
	return ids;
}

/*
 * cmd_truth: exact top-k of the first nq queries into opt.out.
 */
static void
cmd_truth(void)
{
	Query	   *q;
	int			nq = read_queries(opt.qfile, opt.nq, &q);
	int64_t    *ids = shared_ids(nq);
	double		wall;
	double	   *lat;

	opt.warmup = 0;
	lat = run_parallel(q, nq, ids, "exact ground truth", &wall, 1);
	write_ids(opt.out, ids, nq);
	printf("queries=%d seconds=%.3f qps=%.2f\n", nq, wall, nq / wall);
	free(lat);
}

/*
 * cmd_search: timed k-NN queries; recall against opt.truth when given,
 * over the queries the truth file covers (it may hold fewer).
 */
static void
cmd_search(void)
{
	Query	   *q;
	int			nq = read_queries(opt.qfile, opt.nq, &q);
	int64_t    *ids = shared_ids(nq);
	double		wall;
	double	   *lat;
	double		recall = -1;
	int			ntruth = 0;

	lat = run_parallel(q, nq, ids, isatty(STDERR_FILENO) ? "queries" : NULL,
					   &wall, 0);
	if (opt.truth)
	{
		int64_t    *gt = read_ids(opt.truth, nq, &ntruth);
		long		hit = 0;

		if (ntruth == 0)
			die("%s: no ground truth", opt.truth);
		for (int i = 0; i < ntruth; i++)
			for (int a = 0; a < opt.k; a++)
				for (int b = 0; b < opt.k; b++)
					if (ids[(size_t) i * opt.k + a] >= 0 &&
						ids[(size_t) i * opt.k + a] == gt[(size_t) i * opt.k + b])
					{
						hit++;
						break;
					}
		recall = (double) hit / ((double) ntruth * opt.k);
		free(gt);
	}
	if (opt.out)
		write_ids(opt.out, ids, nq);
	qsort(lat, nq, sizeof(double), cmp_double);
	printf("queries=%d jobs=%d seconds=%.3f qps=%.2f p50_ms=%.3f p99_ms=%.3f",
		   nq, opt.jobs, wall, nq / wall, lat[(nq - 1) / 2] * 1000,
		   lat[(int) ceil(nq * 0.99) - 1] * 1000);
	if (recall >= 0)
		printf(" recall=%.4f recall_queries=%d", recall, ntruth);
	printf("\n");
	free(lat);
}

/*
 * send_chunk: one COPY ... FROM STDIN of len bytes of COPY text.
 */
static void
send_chunk(PGconn *conn, const char *copy_sql, const char *buf, size_t len)
{
	PGresult   *res = PQexec(conn, copy_sql);

	if (PQresultStatus(res) != PGRES_COPY_IN)
		die("%s: %s", copy_sql, PQerrorMessage(conn));
	PQclear(res);
	if (PQputCopyData(conn, buf, (int) len) != 1 || PQputCopyEnd(conn, NULL) != 1)
		die("COPY data: %s", PQerrorMessage(conn));
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die("COPY: %s", PQerrorMessage(conn));
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
}

/*
 * cmd_load: COPY opt.file into opt.table, opt.chunk rows per COPY.
 */
static void
cmd_load(void)
{
	PGconn	   *conn = connect_db();
	FILE	   *f = fopen(opt.file, "r");
	char		copy_sql[512];
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	long		total = 0;
	long		rows = 0;
	char	   *buf = NULL;
	size_t		bufcap = 0;
	size_t		buflen = 0;
	int			inchunk = 0;
	double		t0;

	if (f == NULL)
		die("%s: %s", opt.file, strerror(errno));
	/* count rows first so the bar knows its end */
	while (getline(&line, &cap, f) > 0)
		total++;
	rewind(f);
	snprintf(copy_sql, sizeof(copy_sql), "COPY %s FROM STDIN", opt.table);
	t0 = now_s();
	for (;;)
	{
		len = getline(&line, &cap, f);
		if (len > 0)
		{
			if (buflen + len > bufcap)
			{
				bufcap = (buflen + len) * 2;
				buf = realloc(buf, bufcap);
			}
			memcpy(buf + buflen, line, len);
			buflen += len;
			inchunk++;
		}
		if (inchunk == opt.chunk || (len <= 0 && inchunk > 0))
		{
			char		extra[128];
			double		el;

			send_chunk(conn, copy_sql, buf, buflen);
			rows += inchunk;
			inchunk = 0;
			buflen = 0;
			el = now_s() - t0;
			snprintf(extra, sizeof(extra), "%ld/%ld rows %.1f s %.0f rows/s",
					 rows, total, el, rows / el);
			progress("COPY", rows, total, extra);
		}
		if (len <= 0)
			break;
	}
	progress_end();
	printf("rows=%ld seconds=%.3f rows_per_s=%.1f\n", rows, now_s() - t0,
		   rows / (now_s() - t0));
	free(buf);
	free(line);
	fclose(f);
	PQfinish(conn);
}

/*
 * cmd_build: runs opt.sql (a CREATE INDEX) while polling its progress in
 * pg_stat_progress_create_index from a second connection.
 */
static void
cmd_build(void)
{
	PGconn	   *conn = connect_db();
	PGconn	   *mon = connect_db();
	char		sql[512];
	PGresult   *res;
	double		t0;
	int			pid = PQbackendPID(conn);
	int			drew = 0;

	apply_sets(conn);
	snprintf(sql, sizeof(sql),
			 "SELECT phase, blocks_total, blocks_done, tuples_total, tuples_done "
			 "FROM pg_stat_progress_create_index WHERE pid = %d", pid);
	t0 = now_s();
	if (!PQsendQuery(conn, opt.sql))
		die("%s: %s", opt.sql, PQerrorMessage(conn));
	for (;;)
	{
		if (!PQconsumeInput(conn))
			die("%s", PQerrorMessage(conn));
		if (!PQisBusy(conn))
			break;
		res = PQexec(mon, sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		{
			const char *phase = PQgetvalue(res, 0, 0);
			double		bt = atof(PQgetvalue(res, 0, 1));
			double		bd = atof(PQgetvalue(res, 0, 2));
			double		tt = atof(PQgetvalue(res, 0, 3));
			double		td = atof(PQgetvalue(res, 0, 4));
			char		extra[256];
			double		el = now_s() - t0;

			if (tt > 0)
				snprintf(extra, sizeof(extra), "%.0f/%.0f tuples %.0f s  %s",
						 td, tt, el, phase);
			else if (bt > 0)
				snprintf(extra, sizeof(extra), "%.0f/%.0f blocks %.0f s  %s",
						 bd, bt, el, phase);
			else
				snprintf(extra, sizeof(extra), "%.0f s  %s", el, phase);
			progress("CREATE INDEX", tt > 0 ? td : bd, tt > 0 ? tt : bt, extra);
			drew = 1;
		}
		PQclear(res);
		usleep(250000);
	}
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			if (drew)
				progress_end();
			die("%s: %s", opt.sql, PQresultErrorMessage(res));
		}
		PQclear(res);
	}
	{
		double		el = now_s() - t0;
		char		extra[128];

		snprintf(extra, sizeof(extra), "done in %.1f s", el);
		progress("CREATE INDEX", 1, 1, extra);
		progress_end();
		printf("seconds=%.3f\n", el);
	}
	PQfinish(mon);
	PQfinish(conn);
}

/*
 * cmd_insert: opt.nq single-row INSERTs, autocommit, prepared, binary
 * vector parameter; ids from opt.first_id.
 */
static void
cmd_insert(void)
{
	PGconn	   *conn = connect_db();
	Query	   *q;
	int			nq = read_queries(opt.qfile, opt.nq, &q);
	char		sql[512];
	PGresult   *res;
	double		t0;
	double		el;

	apply_sets(conn);
	snprintf(sql, sizeof(sql),
			 "INSERT INTO %s (id, label, %s) VALUES ($1::bigint, $2::int, $3::%s)",
			 opt.table, opt.column, opt.type);
	res = PQprepare(conn, "ins", sql, 3, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die("prepare: %s", PQerrorMessage(conn));
	PQclear(res);
	t0 = now_s();
	for (int i = 0; i < nq; i++)
	{
		char		idtxt[32];
		char		labtxt[16];
		const char *values[3] = {idtxt, labtxt, q[i].bin};
		int			lengths[3] = {0, 0, q[i].binlen};
		int			formats[3] = {0, 0, 1};

		snprintf(idtxt, sizeof(idtxt), "%ld", opt.first_id + i);
		snprintf(labtxt, sizeof(labtxt), "%d", q[i].label);
		res = PQexecPrepared(conn, "ins", 3, values, lengths, formats, 1);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("insert: %s", PQerrorMessage(conn));
		PQclear(res);
	}
	el = now_s() - t0;
	printf("rows=%d seconds=%.3f rows_per_s=%.1f\n", nq, el, nq / el);
	PQfinish(conn);
}

/*
 * usage: prints the command summary and exits.
 */
static void
usage(void)
{
	fprintf(stderr,
			"usage: rvbench load   -t TABLE -f FILE [-C CHUNK]\n"
			"       rvbench build  -S SQL [-s GUC=VAL]...\n"
			"       rvbench truth  -t TABLE -q QFILE -n NQ -o OUT [-j JOBS]\n"
			"       rvbench search -t TABLE -q QFILE -n NQ [-T TRUTH] [-s GUC=VAL]... [-j JOBS] [-w WARMUP] [-o OUT]\n"
			"       rvbench insert -t TABLE -q QFILE -n N -i FIRST_ID\n"
			"common: -c COLUMN (embedding), -k K (10), -y TYPE (ruvector); connection from PG* variables\n");
	exit(2);
}

/*
 * main: parses the command and its options and runs it.
 */
int
main(int argc, char **argv)
{
	int			c;

	if (argc < 2)
		usage();
	opt.cmd = argv[1];
	opt.column = "embedding";
	opt.type = "ruvector";
	opt.nq = 1000000;
	opt.jobs = 1;
	opt.warmup = 50;
	opt.chunk = 5000;
	opt.k = 10;
	optind = 2;
	while ((c = getopt(argc, argv, "t:c:y:f:q:T:o:S:s:n:j:w:C:k:i:")) != -1)
	{
		switch (c)
		{
			case 't':
				opt.table = optarg;
				break;
			case 'c':
				opt.column = optarg;
				break;
			case 'y':
				opt.type = optarg;
				break;
			case 'f':
				opt.file = optarg;
				break;
			case 'q':
				opt.qfile = optarg;
				break;
			case 'T':
				opt.truth = optarg;
				break;
			case 'o':
				opt.out = optarg;
				break;
			case 'S':
				opt.sql = optarg;
				break;
			case 's':
				if (opt.nsets == MAX_SETS)
					die("too many -s options");
				opt.sets[opt.nsets++] = optarg;
				break;
			case 'n':
				opt.nq = atoi(optarg);
				break;
			case 'j':
				opt.jobs = atoi(optarg);
				break;
			case 'w':
				opt.warmup = atoi(optarg);
				break;
			case 'C':
				opt.chunk = atoi(optarg);
				break;
			case 'k':
				opt.k = atoi(optarg);
				break;
			case 'i':
				opt.first_id = atol(optarg);
				break;
			default:
				usage();
		}
	}
	if (opt.k < 1 || opt.k > MAX_K || opt.chunk < 1 || opt.nq < 1)
		die("bad -k, -C or -n");
	if (strcmp(opt.cmd, "load") == 0 && opt.table && opt.file)
		cmd_load();
	else if (strcmp(opt.cmd, "build") == 0 && opt.sql)
		cmd_build();
	else if (strcmp(opt.cmd, "truth") == 0 && opt.table && opt.qfile && opt.out)
		cmd_truth();
	else if (strcmp(opt.cmd, "search") == 0 && opt.table && opt.qfile)
		cmd_search();
	else if (strcmp(opt.cmd, "insert") == 0 && opt.table && opt.qfile)
		cmd_insert();
	else
		usage();
	return 0;
}
