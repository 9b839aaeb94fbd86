package supertasks

import (
	_ "embed"
)

// demoFile is a helpdesk's task set, for the local stack.
//
//go:embed testdata/demo.yaml
var demoFile []byte

// DemoSet returns the demo task set the local stack imports: a helpdesk's
// mail fetching, SLA escalation, nightly cleanup, weekly report, monthly
// invoice and a paused survey, with templates and settings.
func DemoSet() (Set, error) {
	return ParseFile(demoFile, YAML)
}
