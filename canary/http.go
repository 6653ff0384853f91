package canary

import "context"

func runHTTP(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	return StepResult{Error: "not yet"}
}
