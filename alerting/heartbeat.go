package alerting

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// HeartbeatMetric is the metric the evaluator publishes after each
// evaluation that succeeds: 1 per evaluation, dimension Evaluator. A
// CloudWatch alarm on it with TreatMissingData=breaching watches the
// watcher.
const HeartbeatMetric = "EvaluatorHeartbeat"

// PutMetricDataAPI is the part of the CloudWatch client the heartbeat
// uses.
type PutMetricDataAPI interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// CloudWatchHeartbeat returns a ServiceConfig.Heartbeat that publishes
// HeartbeatMetric to namespace for the named evaluator.
func CloudWatchHeartbeat(api PutMetricDataAPI, namespace, evaluator string) (func(context.Context, time.Time) error, error) {
	if api == nil || namespace == "" || evaluator == "" {
		return nil, errors.New("alerting: the heartbeat needs a client, a namespace and the evaluator's name")
	}
	return func(ctx context.Context, at time.Time) error {
		_, err := api.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
			Namespace: aws.String(namespace),
			MetricData: []types.MetricDatum{{
				MetricName: aws.String(HeartbeatMetric),
				Dimensions: []types.Dimension{{Name: aws.String("Evaluator"), Value: aws.String(evaluator)}},
				Timestamp:  aws.Time(at),
				Value:      aws.Float64(1),
				Unit:       types.StandardUnitCount,
			}},
		})
		return err
	}, nil
}
