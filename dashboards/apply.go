package dashboards

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// PutDashboardAPI is the part of the CloudWatch client Apply needs.
type PutDashboardAPI interface {
	PutDashboard(ctx context.Context, in *cloudwatch.PutDashboardInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutDashboardOutput, error)
}

// Apply creates or replaces each dashboard. It stops at the first failure
// and says which dashboard it was; CloudWatch's validation messages, if
// any, are part of the error.
func Apply(ctx context.Context, cw PutDashboardAPI, ds []Dashboard) error {
	for _, d := range ds {
		out, err := cw.PutDashboard(ctx, &cloudwatch.PutDashboardInput{
			DashboardName: aws.String(d.Name), DashboardBody: aws.String(string(d.Body)),
		})
		if err != nil {
			return fmt.Errorf("dashboard %s: %w", d.Name, err)
		}
		if len(out.DashboardValidationMessages) > 0 {
			m := out.DashboardValidationMessages[0]
			return fmt.Errorf("dashboard %s: CloudWatch accepted it with a warning at %s: %s",
				d.Name, aws.ToString(m.DataPath), aws.ToString(m.Message))
		}
	}
	return nil
}
