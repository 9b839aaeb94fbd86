package supertasks

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFileProblems(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		file   string
		want   []string // Problem.String() of each, in file order
	}{
		{name: "every task problem placed", format: YAML, file: `tasks:
  - name: fetch
    schedule: "61 * * * *"
    timezone: Europe/Atlantis
    command: php artisan fetch
  - name: fetch
    schedule: "@every5"
    command: ""
  - schedule: "* * * *"
    command: x
    enabled: "yes"
    nmae: typo
`, want: []string{
			`3:15: /tasks/0/schedule: "61 * * * *" minute field "61" is invalid`,
			`4:15: /tasks/0/timezone: unknown time zone "Europe/Atlantis"`,
			`6:11: /tasks/1/name: name "fetch" is used twice`,
			`7:15: /tasks/1/schedule: "@every5" unknown macro @every5; Laravel knows ` +
				`@yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly`,
			`8:14: /tasks/1/command: is required`,
			`9:5: /tasks/2/name: is required`,
			`9:15: /tasks/2/schedule: "* * * *" has 4 fields, want 5 ` +
				`(minute hour day-of-month month day-of-week)`,
			`11:14: /tasks/2/enabled: must be true or false`,
			`12:5: /tasks/2/nmae: unknown field "nmae"`,
		}},
		{name: "templates and settings", format: YAML, file: `settings: [1, 2]
templates:
  - id: a
    name: A
  - id: a
    name: B
    options: nope
tasks: []
`, want: []string{
			`1:11: /settings: must be a mapping`,
			`5:9: /templates/1/id: id "a" is used twice`,
			`7:14: /templates/1/options: must be a mapping`,
		}},
		{name: "a number is not a name", format: YAML, file: `tasks:
  - name: 10
    schedule: "@daily"
    command: x
    command: y
`, want: []string{
			`2:11: /tasks/0/name: must be a string`,
			`5:5: /tasks/0/command: repeats the key "command"`,
		}},
		{name: "YAML syntax", format: YAML, file: "tasks:\n  - name: x\n    schedule: * * * * *\n",
			want: []string{`3:1: not valid YAML: did not find expected alphabetic or numeric character`}},
		{name: "not a mapping", format: YAML, file: "- a\n- b\n",
			want: []string{`1:1: must be a mapping`}},
		{name: "empty", format: YAML, file: "", want: []string{`the file is empty`}},
		{name: "JSON placed by line and column", format: JSON, file: `{
  "tasks": [
    {"name": "a", "schedule": "0 0 31 2 *", "command": "x",
     "timezone": "UTC", "enabled": 1}
  ]
}`, want: []string{
			`3:31: /tasks/0/schedule: "0 0 31 2 *" never matches a date`,
			`4:36: /tasks/0/enabled: must be true or false`,
		}},
		{name: "JSON syntax", format: JSON, file: "{\n  \"tasks\": [\n    {\"name\": \"a\",}\n  ]\n}",
			want: []string{`3:18: not valid JSON: invalid character '}' ` +
				`looking for beginning of object key string`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tt.file), tt.format)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("ParseFile error = %v, want Problems", err)
			}
			got := make([]string, len(ps))
			for i, p := range ps {
				got[i] = p.String()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFileDefaults(t *testing.T) {
	got, err := ParseFile([]byte(`{"tasks": [{"name": "a", "schedule": "@hourly",
		"command": "x", "options": {"n": 1.0, "f": 1.5, "l": [1, "x", null]}}]}`), JSON)
	if err != nil {
		t.Fatal(err)
	}
	want := Set{Tasks: []Task{{ID: "a", Name: "a", Schedule: "@hourly", Timezone: "UTC",
		Enabled: true, Command: "x",
		Options: map[string]any{"n": int64(1), "f": 1.5, "l": []any{int64(1), "x", nil}}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("set mismatch (-want +got):\n%s", diff)
	}
}

func TestExportRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := ParseFile(data, YAML)
	if err != nil {
		t.Fatalf("demo.yaml: %v", err)
	}
	if len(set.Tasks) != 6 || len(set.Templates) != 3 {
		t.Fatalf("demo set has %d tasks, %d templates", len(set.Tasks), len(set.Templates))
	}
	for _, f := range []Format{YAML, JSON} {
		t.Run(string(f), func(t *testing.T) {
			out, err := Export(set, f)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseFile(out, f)
			if err != nil {
				t.Fatalf("reading the export back: %v\n%s", err, out)
			}
			if diff := cmp.Diff(set, back); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]Format{"a.json": JSON, "A.JSON": JSON,
		"a.yaml": YAML, "a.yml": YAML, "a": YAML} {
		if got := FormatOf(name); got != want {
			t.Errorf("FormatOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDemoSet(t *testing.T) {
	set, err := DemoSet()
	if err != nil || len(set.Tasks) != 6 {
		t.Errorf("DemoSet() = %d tasks, %v", len(set.Tasks), err)
	}
}

func TestJSONSyntaxErrorPlace(t *testing.T) {
	_, err := ParseFile([]byte("{\n  \"tasks\": [x]\n}"), JSON)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 {
		t.Fatalf("ParseFile = %v, want one problem", err)
	}
	if ps[0].Line != 2 || ps[0].Column != 13 {
		t.Errorf("problem at %d:%d, want 2:13 (the x)", ps[0].Line, ps[0].Column)
	}
}
