package metrics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// The metric schema agents and the evaluator share (docs/metrics.md).
const (
	DefaultNamespace   = "Nines"
	MetricAttempts     = "Attempts"
	MetricSuccesses    = "Successes"
	MetricLatency      = "Latency"
	MetricStepLatency  = "StepLatency"
	MetricHeartbeat    = "AgentHeartbeat"
	DimensionCanary    = "Canary"
	DimensionRegion    = "Region"
	DimensionStep      = "Step"
	DimensionAgent     = "Agent"
	unitCount          = types.StandardUnitCount
	unitMilliseconds   = types.StandardUnitMilliseconds
	maxValuesPerDatum  = 150
	maxDatumsPerPut    = 1000
	maxPutBytes        = 1 << 20
	putBytesHeadroom   = 64 << 10 // what the size estimate may be off by
	maxDatumAge        = 14 * 24 * time.Hour
	defaultPutTimeout  = 10 * time.Second
	datumOverheadBytes = 160 // names, units, timestamp and framing, rounded up
	valueBytes         = 9   // a CBOR float64
)

// CloudWatchAPI is the part of the SDK client the sink uses.
type CloudWatchAPI interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// CloudWatchConfig configures the CloudWatch sink. The YAML fields map onto
// Region, Namespace, Endpoint and StorageResolution; the rest is wiring.
type CloudWatchConfig struct {
	// Region is the monitoring region metrics are published to.
	Region string
	// Namespace is DefaultNamespace when empty.
	Namespace string
	// Endpoint replaces the service endpoint, for a private endpoint or a
	// fake. AWS_ENDPOINT_URL_CLOUDWATCH does the same from the environment.
	Endpoint string
	// Profile names the shared config profile for credentials and, when
	// Region is empty, the region; empty is AWS_PROFILE or the default.
	Profile string
	// StorageResolution is 1 (high resolution) or 60; 60 when 0.
	StorageResolution int
	// RegionRollup also publishes each latency distribution without the
	// Region dimension, so CloudWatch can compute a percentile over every
	// region together. It costs one metric per canary and a datum per
	// canary and period. Latency SLIs do not need it: summing SampleCount x
	// PR(:threshold) over the regions' metrics is exact.
	RegionRollup bool
	// Client overrides the SDK client built from the default credential
	// chain; tests pass one pointed at a fake.
	Client CloudWatchAPI
	// PutTimeout bounds one PutMetricData call (10s when 0), so a hung
	// connection becomes a retryable timeout.
	PutTimeout time.Duration
}

// CloudWatch publishes batches with PutMetricData, as few calls as the
// limits allow. It never retries: it reports what it did not send, and the
// Publisher decides (Classify) whether to retry or spool. It is safe for
// concurrent use.
type CloudWatch struct {
	cfg    CloudWatchConfig
	client CloudWatchAPI
}

// NewCloudWatchClient returns an SDK client for region with the SDK's
// default credential chain: environment, shared profile, web identity, the
// ECS task role, IMDS on EC2, the Lambda role. The SDK's own retries are off:
// the Publisher retries, classified in one place. endpoint, when set, wins
// over AWS_ENDPOINT_URL_CLOUDWATCH, which wins over the region's endpoint.
func NewCloudWatchClient(ctx context.Context, region, endpoint string) (*cloudwatch.Client, error) {
	return newCloudWatchClient(ctx, region, endpoint, "", func() aws.Retryer { return aws.NopRetryer{} })
}

// NewCloudWatchReader is NewCloudWatchClient for readers (the SLO source,
// dashboards): reads are safe to repeat, so it keeps the SDK's standard
// retries.
func NewCloudWatchReader(ctx context.Context, region, endpoint string) (*cloudwatch.Client, error) {
	return newCloudWatchClient(ctx, region, endpoint, "", nil)
}

func newCloudWatchClient(ctx context.Context, region, endpoint, profile string, retryer func() aws.Retryer) (*cloudwatch.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	if retryer != nil {
		opts = append(opts, awsconfig.WithRetryer(retryer))
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set cloudwatch.region in the config to the monitoring region, or AWS_REGION (or a profile's region)")
	}
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// NewCloudWatch returns a CloudWatch sink. Without a Client it builds one
// with NewCloudWatchClient.
func NewCloudWatch(ctx context.Context, cfg CloudWatchConfig) (*CloudWatch, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	switch cfg.StorageResolution {
	case 0:
		cfg.StorageResolution = 60
	case 1, 60:
	default:
		return nil, fmt.Errorf("cloudwatch: storage resolution %d: use 1 or 60", cfg.StorageResolution)
	}
	if cfg.PutTimeout <= 0 {
		cfg.PutTimeout = defaultPutTimeout
	}
	client := cfg.Client
	if client == nil {
		c, err := newCloudWatchClient(ctx, cfg.Region, cfg.Endpoint, cfg.Profile, func() aws.Retryer { return aws.NopRetryer{} })
		if err != nil {
			return nil, err
		}
		client = c
	}
	return &CloudWatch{cfg: cfg, client: client}, nil
}

// put is one PutMetricData request in the making: whole aggregates, so a
// failed request leaves whole aggregates unsent.
type put struct {
	datums []types.MetricDatum
	bytes  int
	part   Batch
}

// Publish sends b in as few PutMetricData calls as the limits allow (1000
// datums, 1 MB), oldest period first. On the first failed call it stops and
// returns a *PartialError holding what was not sent.
func (c *CloudWatch) Publish(ctx context.Context, b Batch) error {
	puts := c.plan(b)
	for i, p := range puts {
		callCtx, cancel := context.WithTimeout(ctx, c.cfg.PutTimeout)
		_, err := c.client.PutMetricData(callCtx, &cloudwatch.PutMetricDataInput{
			Namespace: aws.String(c.cfg.Namespace), MetricData: p.datums,
		})
		cancel()
		if err != nil {
			var rest, untried Batch
			for j, q := range puts[i:] {
				rest.Aggregates = append(rest.Aggregates, q.part.Aggregates...)
				rest.Heartbeats = append(rest.Heartbeats, q.part.Heartbeats...)
				if j > 0 {
					untried.Aggregates = append(untried.Aggregates, q.part.Aggregates...)
					untried.Heartbeats = append(untried.Heartbeats, q.part.Heartbeats...)
				}
			}
			return &PartialError{Unsent: rest, Untried: untried, Err: fmt.Errorf("cloudwatch PutMetricData: %w", err)}
		}
	}
	return nil
}

// Close does nothing: every Publish is complete when it returns.
func (c *CloudWatch) Close(context.Context) error { return nil }

// Requests returns how many PutMetricData calls Publish would make for b,
// for `nines cost` and the benchmarks.
func (c *CloudWatch) Requests(b Batch) int { return len(c.plan(b)) }

// SplitRequests cuts b into the parts Publish sends in one PutMetricData
// call each, in order: the replay settles the spool after each call.
func (c *CloudWatch) SplitRequests(b Batch) []Batch {
	puts := c.plan(b)
	parts := make([]Batch, len(puts))
	for i, p := range puts {
		parts[i] = p.part
	}
	return parts
}

func (c *CloudWatch) plan(b Batch) []put {
	var puts []put
	cur := put{}
	add := func(datums []types.MetricDatum, part Batch) {
		size := 0
		for i := range datums {
			size += datumBytes(&datums[i])
		}
		if len(cur.datums) > 0 && (len(cur.datums)+len(datums) > maxDatumsPerPut || cur.bytes+size > maxPutBytes-putBytesHeadroom) {
			puts = append(puts, cur)
			cur = put{}
		}
		cur.datums = append(cur.datums, datums...)
		cur.bytes += size
		cur.part.Aggregates = append(cur.part.Aggregates, part.Aggregates...)
		cur.part.Heartbeats = append(cur.part.Heartbeats, part.Heartbeats...)
	}
	for _, a := range b.Aggregates {
		add(c.AggregateDatums(a), Batch{Aggregates: []*Aggregate{a}})
	}
	for _, h := range b.Heartbeats {
		add([]types.MetricDatum{c.heartbeatDatum(h)}, Batch{Heartbeats: []Heartbeat{h}})
	}
	if len(cur.datums) > 0 {
		puts = append(puts, cur)
	}
	return puts
}

func datumBytes(d *types.MetricDatum) int {
	n := datumOverheadBytes + len(aws.ToString(d.MetricName))
	for _, dim := range d.Dimensions {
		n += len(aws.ToString(dim.Name)) + len(aws.ToString(dim.Value)) + 8
	}
	return n + valueBytes*(len(d.Values)+len(d.Counts))
}

// AggregateDatums returns the datums of one aggregate in the metric schema.
// A run series gives Attempts, Successes and Latency; a step series gives
// StepLatency. Latency goes out as Values/Counts, one value per non-zero
// histogram bucket (its High, in ms), at most 150 to a datum.
func (c *CloudWatch) AggregateDatums(a *Aggregate) []types.MetricDatum {
	ts := a.Start.UTC()
	res := aws.Int32(int32(c.cfg.StorageResolution))
	dims := []types.Dimension{
		{Name: aws.String(DimensionCanary), Value: aws.String(a.Series.Canary)},
		{Name: aws.String(DimensionRegion), Value: aws.String(a.Series.Region)},
	}
	var out []types.MetricDatum
	latencyName := MetricLatency
	if a.Series.Step != "" {
		latencyName = MetricStepLatency
		dims = append(dims, types.Dimension{Name: aws.String(DimensionStep), Value: aws.String(a.Series.Step)})
	} else {
		out = append(out,
			types.MetricDatum{MetricName: aws.String(MetricAttempts), Dimensions: dims, Timestamp: &ts, Unit: unitCount,
				StorageResolution: res, Value: aws.Float64(float64(a.Attempts))},
			types.MetricDatum{MetricName: aws.String(MetricSuccesses), Dimensions: dims, Timestamp: &ts, Unit: unitCount,
				StorageResolution: res, Value: aws.Float64(float64(a.Successes))},
		)
	}
	dimSets := [][]types.Dimension{dims}
	if c.cfg.RegionRollup {
		rollup := []types.Dimension{dims[0]}
		if a.Series.Step != "" {
			rollup = append(rollup, dims[2])
		}
		dimSets = append(dimSets, rollup)
	}
	for _, chunk := range latencyChunks(a.LatencyDistribution(), maxValuesPerDatum) {
		values := make([]float64, len(chunk))
		counts := make([]float64, len(chunk))
		for i, b := range chunk {
			values[i] = float64(b.High) / 1000
			counts[i] = float64(b.Count)
		}
		for _, ds := range dimSets {
			out = append(out, types.MetricDatum{MetricName: aws.String(latencyName), Dimensions: ds, Timestamp: &ts,
				Unit: unitMilliseconds, StorageResolution: res, Values: values, Counts: counts})
		}
	}
	return out
}

// latencyChunks splits d into runs of at most n buckets.
func latencyChunks(d Distribution, n int) []Distribution {
	var out []Distribution
	for len(d) > n {
		out = append(out, d[:n])
		d = d[n:]
	}
	if len(d) > 0 {
		out = append(out, d)
	}
	return out
}

func (c *CloudWatch) heartbeatDatum(h Heartbeat) types.MetricDatum {
	ts := h.Start.UTC()
	return types.MetricDatum{
		MetricName: aws.String(MetricHeartbeat),
		Dimensions: []types.Dimension{
			{Name: aws.String(DimensionAgent), Value: aws.String(h.Agent)},
			{Name: aws.String(DimensionRegion), Value: aws.String(h.Region)},
		},
		Timestamp: &ts, Unit: unitCount, StorageResolution: aws.Int32(int32(c.cfg.StorageResolution)), Value: aws.Float64(1),
	}
}
