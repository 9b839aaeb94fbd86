package sqlqueue

import (
	"strings"
	"testing"
	"time"

	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
)

func TestRefreshRetryUntil(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const class = `App\Jobs\SendTicketMail`
	nested := sqlqueuetest.Object{{Key: "retryUntil", Value: int64(5)}}
	l8 := func(until any) string {
		return sqlqueuetest.Laravel8(sqlqueuetest.Payload{
			UUID: "u1", Class: class, DisplayName: "Envoi / résumé ✓",
			RetryUntil: until, Data: nested})
	}
	l12 := func(until any, created int64, pushed string) string {
		return sqlqueuetest.Laravel12(sqlqueuetest.Payload{
			UUID: "u1", Class: class, RetryUntil: until, CreatedAt: created,
			PushedAt: pushed, Data: nested})
	}
	tests := []struct {
		name    string
		payload string
		from    string // the bytes that change ("" for none)
		to      string
	}{
		{"null stays", l8(nil), "", ""},
		{"future stays", l8(int64(1_800_000_001)), "", ""},
		{"Laravel 8 past becomes null", l8(int64(1_700_000_000)),
			`"retryUntil":1700000000`, `"retryUntil":null`},
		{"at now becomes null", l8(int64(1_800_000_000)),
			`"retryUntil":1800000000`, `"retryUntil":null`},
		{"float past becomes null", l8(sqlqueuetest.Raw("1700000000.5")),
			`"retryUntil":1700000000.5`, `"retryUntil":null`},
		{"createdAt window moves", l12(int64(1_700_000_300), 1_700_000_000, ""),
			`"retryUntil":1700000300`, `"retryUntil":1800000300`},
		{"pushedAt wins over createdAt, rounded up",
			l12(int64(1_700_000_300), 1_600_000_000, "1700000000.25"),
			`"retryUntil":1700000300`, `"retryUntil":1800000300`},
		{"window of zero becomes null", l12(int64(1_700_000_000), 1_700_000_000, ""),
			`"retryUntil":1700000000`, `"retryUntil":null`},
		{"Laravel 12 future stays", l12(int64(1_900_000_000), 1_700_000_000, ""), "", ""},
		{"missing stays", `{"uuid":"u1","data":{"retryUntil":1}}`, "", ""},
		{"spaces kept", `{"a":[1,{"retryUntil":2}], "retryUntil" : 17 ,"b":"\/"}`,
			`"retryUntil" : 17 ,`, `"retryUntil" : null ,`},
		{"string stays", `{"retryUntil":"soon"}`, "", ""},
		{"not JSON stays", `{"retryUntil":1`, "", ""},
		{"not an object stays", `[{"retryUntil":1}]`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.payload
			if tt.from != "" {
				if strings.Count(tt.payload, tt.from) != 1 {
					t.Fatalf("fixture: %q not once in %q", tt.from, tt.payload)
				}
				want = strings.Replace(tt.payload, tt.from, tt.to, 1)
			}
			got := string(refreshRetryUntil([]byte(tt.payload), now))
			if got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func TestFixturePayloadIsPHPShaped(t *testing.T) {
	p := sqlqueuetest.Laravel8(sqlqueuetest.Payload{
		UUID: "u1", Class: `App\Jobs\SendTicketMail`})
	for _, want := range []string{
		`"displayName":"App\\Jobs\\SendTicketMail"`,
		`"job":"Illuminate\\Queue\\CallQueuedHandler@call"`,
		`s:10:\"\u0000*\u0000subject\"`,
		`Ré: café \/ naïve ✓`,
		`"retryUntil":null,"data":{"commandName"`,
	} {
		if !strings.Contains(p, want) {
			t.Errorf("payload %s\nlacks %s", p, want)
		}
	}
}
