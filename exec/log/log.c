/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The log: records to the journal over its native protocol (sd-journal,
 * which writes each field as KEY=VALUE, or in its binary form when a value
 * holds a newline), to syslog(3) when the journal's socket is not there (a
 * host or a container without journald), and on stderr where the process
 * asks. Nothing here may fail a hook: a record that cannot be sent is lost,
 * never an error (a log that stops libvirt is worse than a gap in the log).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <virtwire/exec.h>

#define SYSLOG_SOCKET "/dev/log"
#define MAX_FIELDS 12

static struct {
	char *operation;
	char *network, *domain;
	guint flags;
	bool open;
	int journal; /* 0: not looked for yet; 1: there; -1: not there (syslog) */
	int syslog;  /* the same for syslog's socket */
	bool syslog_open;
	VwLogSink sink;
	void *sink_data;
} logger;

void vw_log_open(guint flags)
{
	logger.flags = flags;
	logger.open = true;
}

void vw_log_set_operation(const char *operation)
{
	g_free(logger.operation);
	logger.operation = g_strdup(operation);
}

void vw_log_set_subject(const char *network, const char *domain)
{
	g_free(logger.network);
	g_free(logger.domain);
	logger.network = g_strdup(network);
	logger.domain = g_strdup(domain);
}

void vw_log_close(void)
{
	g_clear_pointer(&logger.operation, g_free);
	g_clear_pointer(&logger.network, g_free);
	g_clear_pointer(&logger.domain, g_free);
	logger.open = false;
	logger.flags = 0;
	if (logger.syslog_open)
		closelog();
	logger.syslog_open = false;
}

void vw_log_set_sink(VwLogSink sink, void *data)
{
	logger.sink = sink;
	logger.sink_data = data;
}

bool vw_log_enabled(void)
{
	return logger.open || logger.sink;
}

static void add_field(struct iovec *iov, int *n, GPtrArray *keep, const char *key, const char *value)
{
	char *f;

	if (!value || !*value || *n >= MAX_FIELDS)
		return;
	f = g_strconcat(key, "=", value, NULL);
	g_ptr_array_add(keep, f);
	iov[*n].iov_base = f;
	iov[(*n)++].iov_len = strlen(f);
}

static bool to_journal(const VwLogRecord *r)
{
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *prio = g_strdup_printf("%d", r->priority);
	g_autofree char *line = r->line > 0 ? g_strdup_printf("%d", r->line) : NULL;
	g_autofree char *ms = r->result && r->duration_ms >= 0 ? g_strdup_printf("%" G_GINT64_FORMAT, r->duration_ms)
							       : NULL;
	struct iovec iov[MAX_FIELDS];
	int n = 0;

	if (logger.journal == 0)
		logger.journal = access(VW_JOURNAL_SOCKET, F_OK) == 0 ? 1 : -1;
	if (logger.journal < 0)
		return false;
	add_field(iov, &n, keep, "MESSAGE", r->message);
	add_field(iov, &n, keep, "PRIORITY", prio);
	add_field(iov, &n, keep, "SYSLOG_IDENTIFIER", "virtwire");
	add_field(iov, &n, keep, "VIRTWIRE_OPERATION", logger.operation);
	add_field(iov, &n, keep, "VIRTWIRE_NETWORK", r->network ? r->network : logger.network);
	add_field(iov, &n, keep, "VIRTWIRE_DOMAIN", r->domain ? r->domain : logger.domain);
	add_field(iov, &n, keep, "VIRTWIRE_OBJECT", r->object);
	add_field(iov, &n, keep, "VIRTWIRE_CODE", r->code);
	add_field(iov, &n, keep, "VIRTWIRE_LINE", line);
	add_field(iov, &n, keep, "VIRTWIRE_RESULT", r->result);
	add_field(iov, &n, keep, "VIRTWIRE_DURATION_MS", ms);
	return vw_journal_sendv(iov, n);
}

static void to_syslog(const VwLogRecord *r)
{
	/* Nothing listens: syslog(3) would try to connect for every record. */
	if (logger.syslog == 0)
		logger.syslog = access(SYSLOG_SOCKET, F_OK) == 0 ? 1 : -1;
	if (logger.syslog < 0)
		return;
	if (!logger.syslog_open) {
		/* No LOG_CONS: a hook never writes to the console. */
		openlog("virtwire", LOG_PID, LOG_DAEMON);
		logger.syslog_open = true;
	}
	syslog(r->priority, "%s", r->message);
}

static void to_stderr(const VwLogRecord *r)
{
	const char *level = r->priority <= LOG_ERR ? "error: " : r->priority == LOG_WARNING ? "warning: " : "";

	fprintf(stderr, "virtwire: %s%s\n", level, r->message);
}

void vw_log_record(const VwLogRecord *r)
{
	bool problem = r->priority <= LOG_WARNING && !r->result;

	if (logger.sink) {
		VwLogRecord full = *r;

		full.network = r->network ? r->network : logger.network;
		full.domain = r->domain ? r->domain : logger.domain;
		logger.sink(&full, logger.operation, logger.sink_data);
		return;
	}
	if (!logger.open || !r->message)
		return;
	if ((logger.flags & VW_LOG_SYSTEM) && !to_journal(r))
		to_syslog(r);
	/* A call's summary is not a problem of its own: its failures were
	 * said on their own lines. */
	if ((logger.flags & VW_LOG_STDERR) || ((logger.flags & VW_LOG_PROBLEMS) && problem))
		to_stderr(r);
}

void vw_log_change(const char *network, const char *object, const char *fmt, ...)
{
	g_autofree char *what = NULL;
	g_autofree char *msg = NULL;
	VwLogRecord r = { LOG_NOTICE, .network = network, .object = object, .duration_ms = -1 };
	va_list ap;

	if (!vw_log_enabled())
		return;
	va_start(ap, fmt);
	what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (network && object)
		msg = g_strdup_printf("network '%s': %s: %s", network, object, what);
	else if (network)
		msg = g_strdup_printf("network '%s': %s", network, what);
	else if (object)
		msg = g_strdup_printf("%s: %s", object, what);
	else
		msg = g_strdup(what);
	r.message = msg;
	vw_log_record(&r);
}

void vw_log_call(const char *result, gint64 started_us, const char *fmt, ...)
{
	gint64 ms = (g_get_monotonic_time() - started_us) / 1000;
	VwLogRecord r = { strcmp(result, "failed") == 0 ? LOG_ERR : LOG_INFO, .result = result, .duration_ms = ms };
	g_autoptr(GString) msg = NULL;
	va_list ap;

	if (!vw_log_enabled())
		return;
	msg = g_string_new(NULL);
	va_start(ap, fmt);
	g_string_append_vprintf(msg, fmt, ap);
	va_end(ap);
	g_string_append_printf(msg, " (%" G_GINT64_FORMAT " ms)", ms);
	r.message = msg->str;
	vw_log_record(&r);
}
