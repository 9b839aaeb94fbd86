package sqlqueuetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// KV is one key and value of a JSON object, in the order written.
// Values are nil, bool, int, int64, string, []string, Raw or Object.
type KV struct {
	Key   string
	Value any
}

// Object is a JSON object with its keys in order.
type Object []KV

// Raw is JSON written as it is.
type Raw string

// Payload describes a job payload. Zero fields take plausible values.
type Payload struct {
	UUID        string
	Class       string // the job's class, e.g. App\Jobs\SendTicketMail
	DisplayName string // Class unless set
	// RetryUntil is nil (null), an int64 epoch, or Raw for anything else.
	RetryUntil any
	// CreatedAt is Laravel 12.11+'s createdAt; 0 leaves it out.
	CreatedAt int64
	// PushedAt is Horizon's pushedAt (a string of microtime); "" leaves
	// Horizon's keys out.
	PushedAt string
	// Data are extra keys of data, after commandName and command.
	Data Object
}

// Laravel8 returns p as Laravel 8's Queue::createObjectPayload writes it:
// json_encode(..., JSON_UNESCAPED_UNICODE) of uuid, displayName, job,
// maxTries, maxExceptions, failOnTimeout, backoff, timeout, retryUntil
// and data {commandName, command}.
func Laravel8(p Payload) string {
	return encode(append(p.head(), KV{"data", p.data(false)}))
}

// Laravel12 returns p as Laravel 12 writes it: Laravel 8's keys, then
// data.batchId, createdAt, Horizon's hook keys when PushedAt is set, and
// delay.
func Laravel12(p Payload) string {
	o := append(p.head(), KV{"data", p.data(true)}, KV{"createdAt", p.CreatedAt})
	if p.PushedAt != "" {
		o = append(o, KV{"type", "job"}, KV{"tags", []string{"ticket:42"}},
			KV{"silenced", false}, KV{"pushedAt", p.PushedAt})
	}
	return encode(append(o, KV{"delay", nil}))
}

func (p Payload) head() Object {
	name := p.DisplayName
	if name == "" {
		name = p.Class
	}
	return Object{
		{"uuid", p.UUID},
		{"displayName", name},
		{"job", `Illuminate\Queue\CallQueuedHandler@call`},
		{"maxTries", nil},
		{"maxExceptions", nil},
		{"failOnTimeout", false},
		{"backoff", nil},
		{"timeout", nil},
		{"retryUntil", p.RetryUntil},
	}
}

func (p Payload) data(batch bool) Object {
	o := Object{{"commandName", p.Class}, {"command", Command(p.Class)}}
	if batch {
		o = append(o, KV{"batchId", nil})
	}
	return append(o, p.Data...)
}

// Command returns serialize(clone $job) for a job of class using the
// Queueable trait, with a protected property, so the text holds NUL
// bytes as PHP writes them.
func Command(class string) string {
	props := []struct {
		name  string
		value string
	}{
		{"\x00*\x00ticket", "i:42;"},
		{"\x00*\x00subject", phpString("Ré: café / naïve ✓")},
		{"connection", "N;"},
		{"queue", phpString("default")},
		{"delay", "N;"},
		{"afterCommit", "N;"},
		{"middleware", "a:0:{}"},
		{"chained", "a:0:{}"},
	}
	var b strings.Builder
	fmt.Fprintf(&b, "O:%d:\"%s\":%d:{", len(class), class, len(props))
	for _, p := range props {
		b.WriteString(phpString(p.name) + p.value)
	}
	b.WriteString("}")
	return b.String()
}

// phpString is PHP's serialize of a string: its length in bytes.
func phpString(s string) string {
	return "s:" + strconv.Itoa(len(s)) + `:"` + s + `";`
}

// encode writes an object as PHP's json_encode with
// JSON_UNESCAPED_UNICODE: slashes escaped, non-ASCII raw, control
// characters as \uXXXX or their short forms, U+2028 and U+2029 escaped.
func encode(o Object) string {
	var b strings.Builder
	writeObject(&b, o)
	return b.String()
}

func writeObject(b *strings.Builder, o Object) {
	b.WriteByte('{')
	for i, kv := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		writeValue(b, kv.Key)
		b.WriteByte(':')
		writeValue(b, kv.Value)
	}
	b.WriteByte('}')
}

func writeValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case Object:
		writeObject(b, v)
	case Raw:
		b.WriteString(string(v))
	case string:
		b.WriteString(PHPString(v))
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(PHPString(s))
		}
		b.WriteByte(']')
	default:
		j, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		b.Write(j)
	}
}

// PHPString is json_encode($s, JSON_UNESCAPED_UNICODE) of a string.
func PHPString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	// Go and PHP agree on everything else; PHP also escapes the slash.
	return strings.ReplaceAll(strings.TrimSuffix(buf.String(), "\n"), "/", `\/`)
}

// Exception returns (string)$e for an exception of class with message
// thrown at file:line, as PHP's Throwable::__toString writes it, with a
// stack trace through Laravel's queue worker.
func Exception(class, message, file string, line int) string {
	head := fmt.Sprintf("%s: %s in %s:%d", class, message, file, line)
	if message == "" {
		head = fmt.Sprintf("%s in %s:%d", class, file, line)
	}
	return head + "\nStack trace:\n" +
		"#0 /var/www/vendor/laravel/framework/src/Illuminate/Container/" +
		"BoundMethod.php(36): App\\Jobs\\SendTicketMail->handle()\n" +
		"#1 /var/www/vendor/laravel/framework/src/Illuminate/Container/" +
		"Util.php(40): Illuminate\\Container\\BoundMethod::Illuminate\\" +
		"Container\\{closure}()\n" +
		"#2 /var/www/vendor/laravel/framework/src/Illuminate/Queue/" +
		"CallQueuedHandler.php(98): Illuminate\\Container\\Container->call()\n" +
		"#3 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php(" +
		"428): Illuminate\\Queue\\Jobs\\Job->fire()\n" +
		"#4 [internal function]: Illuminate\\Queue\\Worker->process()\n" +
		"#5 {main}"
}

// Chained returns (string)$e for an exception with a previous one: the
// previous first, then "Next" and the outer one.
func Chained(previous, outer string) string {
	return previous + "\n\nNext " + outer
}
