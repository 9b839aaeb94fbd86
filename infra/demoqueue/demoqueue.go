// Package demoqueue makes the SQLite queue database `make run` serves:
// Laravel's own jobs and failed_jobs tables with a helpdesk's jobs in
// every state, so that /jobs and /health have something to show.
package demoqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/sqlqueue/schema"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Create writes a demo queue database to the SQLite file at path, unless
// a file is there already: an existing database, demo or not, is never
// touched. Its times are relative to now. The file appears whole or not
// at all: it is filled under another name and then linked into place.
//
// The database holds Laravel 8 jobs of a helpdesk on the queues default,
// mail, sla and portal_default: pending ones (one waiting long enough to
// warn), delayed and reserved ones (one reserved long ago, so stale), and
// failed ones from the last hours and days with PHP stack traces, a few
// distinct first lines (cURL timeouts and SMTP 451s an ignore pattern
// might mute), one of them of the redis connection, which the API
// answers as unsupported.
func Create(ctx context.Context, path string, now time.Time) error {
	if _, err := os.Stat(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demoqueue: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".demoqueue-*.db")
	if err != nil {
		return fmt.Errorf("demoqueue: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	if err := fill(ctx, tmp.Name(), now); err != nil {
		return fmt.Errorf("demoqueue: %w", err)
	}
	// Link, unlike rename, refuses to replace a file made meanwhile.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("demoqueue: %w", err)
	}
	return nil
}

// fill creates the tables in the SQLite file at path and inserts the
// demo rows in one transaction.
func fill(ctx context.Context, path string, now time.Time) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	stmts, err := schema.Statements("sqlite", "jobs", "failed_jobs")
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create tables: %w", err)
		}
	}
	for _, j := range queuedJobs(now) {
		var reserved any
		if j.reservedAgo != 0 {
			reserved = now.Add(-j.reservedAgo).Unix()
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO jobs (queue, attempts, reserved_at,"+
			" available_at, created_at, payload) VALUES (?, ?, ?, ?, ?, ?)",
			j.queue, j.attempts, reserved, now.Add(j.available).Unix(),
			now.Add(-j.age).Unix(), payload(j.uuid, j.class, j.ticket, ""))
		if err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
	}
	for _, f := range failedJobs() {
		redisID := ""
		if f.connection == "redis" {
			redisID = "Kq3ZbLwV8mT1xYc0Rn5sPd7Hf2Gj9Ae4"
		}
		// failed_at as Laravel writes it: 'Y-m-d H:i:s' in the
		// application's zone, UTC here.
		_, err := tx.ExecContext(ctx, "INSERT INTO failed_jobs (uuid, connection, queue,"+
			" payload, exception, failed_at) VALUES (?, ?, ?, ?, ?, ?)",
			f.uuid, f.connection, f.queue, payload(f.uuid, f.class, f.ticket, redisID),
			f.exception, now.Add(-f.ago).UTC().Format(time.DateTime))
		if err != nil {
			return fmt.Errorf("insert failed job: %w", err)
		}
	}
	return tx.Commit()
}

// qid and fid return the fixed uuids of the demo's queued and failed
// jobs, so that a demo looks the same each time it is made.
func qid(n int) string { return fmt.Sprintf("0b6f3c1e-2a4d-4f7a-9c1b-5d2e8f0a1b%02d", n) }
func fid(n int) string { return fmt.Sprintf("7c1d5e0a-9b3f-4e2c-8a6d-1f4b7c9e2d%02d", n) }

type queued struct {
	uuid, queue, class string
	ticket             int
	attempts           int
	age                time.Duration // created this long before now
	available          time.Duration // available at now + available
	reservedAgo        time.Duration // 0: not reserved
}

func queuedJobs(now time.Time) []queued {
	const (
		reply    = `App\Jobs\SendTicketReply`
		escalate = `App\Jobs\EscalateSla`
		notify   = `App\Jobs\NotifyAgent`
		sync     = `App\Jobs\SyncPortalUser`
		digest   = `App\Jobs\SendDailyDigest`
	)
	tomorrow := time.Date(now.Year(), now.Month(), now.Day()+1, 7, 0, 0, 0, time.UTC)
	return []queued{
		{qid(1), "default", reply, 1041, 0, 20 * time.Second, -20 * time.Second, 0},
		{qid(2), "default", notify, 1042, 0, 5 * time.Second, -5 * time.Second, 0},
		{qid(3), "default", reply, 1038, 1, 2 * time.Minute, -2 * time.Minute, 30 * time.Second},
		{qid(4), "mail", reply, 1029, 0, 7 * time.Minute, -7 * time.Minute, 0},
		{qid(5), "mail", reply, 1033, 0, 4 * time.Minute, -4 * time.Minute, 0},
		{qid(6), "mail", digest, 0, 0, time.Hour, tomorrow.Sub(now), 0},
		{qid(7), "sla", escalate, 1017, 0, 10 * time.Minute, 50 * time.Minute, 0},
		{qid(8), "sla", escalate, 1002, 2, 3 * time.Hour, -40 * time.Minute, 25 * time.Minute},
		{qid(9), "portal_default", sync, 877, 0, 40 * time.Second, -40 * time.Second, 0},
		{qid(10), "portal_default", sync, 878, 1, time.Minute, -time.Minute, 10 * time.Second},
	}
}

type failedJob struct {
	uuid, connection, queue, class string
	ticket                         int
	ago                            time.Duration
	exception                      string
}

func failedJobs() []failedJob {
	var (
		curl = exception(`Illuminate\Http\Client\ConnectionException`,
			"cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes "+
				"received (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for "+
				"https://api.mailgun.net/v3/mg.helpdesk.example/messages",
			"/var/www/vendor/laravel/framework/src/Illuminate/Http/Client/PendingRequest.php",
			856, `App\Jobs\SendTicketReply`)
		smtp = exception(`Symfony\Component\Mailer\Exception\TransportException`,
			`Expected response code "250" but got code "451", with message `+
				`"451 4.7.1 Greylisted, please try again later".`,
			"/var/www/vendor/symfony/mailer/Transport/Smtp/SmtpTransport.php",
			338, `App\Jobs\SendTicketReply`)
		missing = exception(`Illuminate\Database\Eloquent\ModelNotFoundException`,
			`No query results for model [App\Models\Ticket].`,
			"/var/www/vendor/laravel/framework/src/Illuminate/Queue/"+
				"SerializesAndRestoresModelIdentifiers.php",
			102, `App\Jobs\EscalateSla`)
		sla = exception(`App\Exceptions\SlaPolicyException`,
			`No business hours calendar for team "Tier 2"`,
			"/var/www/app/Sla/PolicyResolver.php", 64, `App\Jobs\EscalateSla`)
		timeout = exception(`Illuminate\Queue\MaxAttemptsExceededException`,
			`App\Jobs\SyncPortalUser has been attempted too many times or run too long. `+
				`The job may have previously timed out.`,
			"/var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php",
			750, `App\Jobs\SyncPortalUser`)
		redis = exception(`RedisException`, "read error on connection to redis:6379",
			"/var/www/vendor/laravel/framework/src/Illuminate/Redis/Connections/"+
				"PhpRedisConnection.php",
			530, `App\Jobs\NotifyAgent`)
	)
	const (
		reply    = `App\Jobs\SendTicketReply`
		escalate = `App\Jobs\EscalateSla`
		sync     = `App\Jobs\SyncPortalUser`
		notify   = `App\Jobs\NotifyAgent`
	)
	h := time.Hour
	return []failedJob{
		{fid(1), "database", "mail", reply, 998, 3*24*h + 5*h, smtp},
		{fid(2), "database", "sla", escalate, 954, 2*24*h + 3*h, missing},
		{fid(3), "database", "mail", reply, 1011, 30 * h, curl},
		{fid(4), "redis", "default", notify, 1019, 20 * h, redis},
		{fid(5), "database", "mail", reply, 1022, 9 * h, curl},
		{fid(6), "database", "sla", escalate, 1024, 6 * h, sla},
		{fid(7), "database", "portal_default", sync, 871, 4 * h, timeout},
		{fid(8), "database", "mail", reply, 1030, 2 * h, smtp},
		{fid(9), "database", "mail", reply, 1031, 95 * time.Minute, curl},
		{fid(10), "database", "default", escalate, 1035, 25 * time.Minute, missing},
	}
}

// exception is PHP's Throwable::__toString of an exception thrown at
// file:line while the worker ran job.
func exception(class, message, file string, line int, job string) string {
	return fmt.Sprintf("%s: %s in %s:%d\nStack trace:\n", class, message, file, line) +
		"#0 /var/www/vendor/laravel/framework/src/Illuminate/Container/BoundMethod.php(36): " +
		job + "->handle()\n" +
		"#1 /var/www/vendor/laravel/framework/src/Illuminate/Container/Util.php(40): " +
		"Illuminate\\Container\\BoundMethod::Illuminate\\Container\\{closure}()\n" +
		"#2 /var/www/vendor/laravel/framework/src/Illuminate/Container/Container.php(653): " +
		"Illuminate\\Container\\BoundMethod::call()\n" +
		"#3 /var/www/vendor/laravel/framework/src/Illuminate/Bus/Dispatcher.php(128): " +
		"Illuminate\\Container\\Container->call()\n" +
		"#4 /var/www/vendor/laravel/framework/src/Illuminate/Queue/CallQueuedHandler.php(98): " +
		"Illuminate\\Bus\\Dispatcher->dispatchNow()\n" +
		"#5 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Jobs/Job.php(98): " +
		"Illuminate\\Queue\\CallQueuedHandler->call()\n" +
		"#6 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php(428): " +
		"Illuminate\\Queue\\Jobs\\Job->fire()\n" +
		"#7 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php(378): " +
		"Illuminate\\Queue\\Worker->process()\n" +
		"#8 /var/www/artisan(37): Illuminate\\Foundation\\Console\\Kernel->handle()\n" +
		"#9 {main}"
}

// payload is a job payload as Laravel 8's Queue::createObjectPayload
// writes it, json_encode'd with JSON_UNESCAPED_UNICODE; redisID, when
// set, adds the id and attempts keys RedisQueue appends.
func payload(uuid, class string, ticket int, redisID string) string {
	kv := [][2]string{
		{"uuid", phpJSON(uuid)},
		{"displayName", phpJSON(class)},
		{"job", phpJSON(`Illuminate\Queue\CallQueuedHandler@call`)},
		{"maxTries", "null"},
		{"maxExceptions", "null"},
		{"failOnTimeout", "false"},
		{"backoff", "null"},
		{"timeout", "null"},
		{"retryUntil", "null"},
		{"data", "{" + phpJSON("commandName") + ":" + phpJSON(class) + "," +
			phpJSON("command") + ":" + phpJSON(command(class, ticket)) + "}"},
	}
	if redisID != "" {
		kv = append(kv, [2]string{"id", phpJSON(redisID)}, [2]string{"attempts", "0"})
	}
	parts := make([]string, len(kv))
	for i, p := range kv {
		parts[i] = phpJSON(p[0]) + ":" + p[1]
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// command is PHP's serialize of a queued job of class holding a ticket
// (as SerializesModels stores it, by identifier) and the Queueable
// trait's properties. Protected names carry NUL bytes, as PHP writes them.
func command(class string, ticket int) string {
	model := "N;"
	if ticket != 0 {
		const mi = `Illuminate\Contracts\Database\ModelIdentifier`
		model = fmt.Sprintf(`O:%d:"%s":4:{%s%s%si:%d;%sa:0:{}%s%s}`, len(mi), mi,
			phpString("class"), phpString(`App\Models\Ticket`), phpString("id"), ticket,
			phpString("relations"), phpString("connection"), phpString("mysql"))
	}
	props := [][2]string{
		{"\x00*\x00ticket", model},
		{"connection", "N;"},
		{"queue", "N;"},
		{"chainConnection", "N;"},
		{"chainQueue", "N;"},
		{"chainCatchCallbacks", "N;"},
		{"delay", "N;"},
		{"afterCommit", "N;"},
		{"middleware", "a:0:{}"},
		{"chained", "a:0:{}"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, `O:%d:"%s":%d:{`, len(class), class, len(props))
	for _, p := range props {
		b.WriteString(phpString(p[0]) + p[1])
	}
	b.WriteString("}")
	return b.String()
}

// phpString is PHP's serialize of a string; its length is in bytes.
func phpString(s string) string {
	return fmt.Sprintf(`s:%d:"%s";`, len(s), s)
}

// phpJSON is json_encode($s, JSON_UNESCAPED_UNICODE): Go's encoding
// without HTML escapes, and with the slash escaped as PHP does.
func phpJSON(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.ReplaceAll(strings.TrimSuffix(b.String(), "\n"), "/", `\/`)
}
