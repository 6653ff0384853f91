package canary

import "sort"

// registry maps a step kind's name to the function that runs it. It is the
// one list of step kinds: the config loader reads it through StepKinds to
// know which keys a step may have.
var registry = map[string]StepRunner{
	"http": runHTTP,
}

// StepKinds lists the registered step kinds, sorted.
func StepKinds() []string {
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// RegisterStepKind adds a step kind. Kinds register from an init function
// in their own file; registering a name twice panics, since that is a
// programming error found at start-up.
func RegisterStepKind(kind string, run StepRunner) {
	if _, dup := registry[kind]; dup {
		panic("canary: step kind registered twice: " + kind)
	}
	registry[kind] = run
}
