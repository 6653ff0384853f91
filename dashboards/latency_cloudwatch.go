package dashboards

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// cwLatencyErr starts every error of CloudWatchLatency.
const cwLatencyErr = "CloudWatch GetMetricData"

// CloudWatchLatency is the LatencySource of deployments whose agents publish
// to CloudWatch instead of the local store: the Latency distributions with
// the dimensions Canary and Region. CloudWatch computes each percentile over
// every value published in the range, so, as with StoreSources, a figure is
// the percentile of the region's merged distribution, never an average of
// percentiles.
//
// A region is in the answer only when CloudWatch has a value for every
// requested percent. It has one for all of them or none, as they come from
// the same samples, so a partial answer is left out rather than padded.
//
// Use it by pointer: it counts its calls.
type CloudWatchLatency struct {
	// Client makes the calls; a *cloudwatch.Client has the method.
	Client slo.GetMetricDataAPI
	// Namespace of the nines metrics; slo.DefaultNamespace when empty.
	Namespace string
	// Regions are the agent regions to read: CloudWatch cannot list the
	// values of a dimension in GetMetricData, so they must be named.
	Regions []string
	// Clock tells how old the range is, which decides the periods
	// CloudWatch still keeps for it. The wall clock when nil.
	Clock clock.Clock

	// maxDatapoints, when set, is each call's MaxDatapoints: tests lower it
	// to make CloudWatch page.
	maxDatapoints int32
	calls         atomic.Int64
}

// Calls is the number of GetMetricData calls made so far, pages included:
// what CloudWatch bills.
func (c *CloudWatchLatency) Calls() int64 { return c.calls.Load() }

// Percentiles implements LatencySource with one GetMetricData call (more
// only past 500 region x percent queries, or when CloudWatch pages): one
// query per region and percent, with [from, to) as its single period.
func (c *CloudWatchLatency) Percentiles(ctx context.Context, canary string, from, to time.Time, percents []float64) (map[string][]float64, error) {
	if c.Client == nil {
		return nil, errors.New(cwLatencyErr + ": no client")
	}
	regions := uniqueStrings(c.Regions)
	if len(regions) == 0 {
		return nil, errors.New(cwLatencyErr + ": latency is read per region, but no regions were given; set deploy.agent_regions or dashboards.regions")
	}
	period, err := c.period(from, to)
	if err != nil {
		return nil, err
	}
	stats := make([]string, len(percents))
	for i, p := range percents {
		// CloudWatch takes pNN.NN: at most two decimals, from p0 to p100.
		if !(p >= 0 && p <= 100) || math.Abs(p*100-math.Round(p*100)) > 1e-9 {
			return nil, fmt.Errorf("%s: percentile %v: CloudWatch takes percents from 0 to 100 with at most two decimals", cwLatencyErr, p)
		}
		stats[i] = "p" + strconv.FormatFloat(p, 'f', -1, 64)
	}
	out := map[string][]float64{}
	if len(percents) == 0 {
		return out, nil
	}

	namespace := c.Namespace
	if namespace == "" {
		namespace = slo.DefaultNamespace
	}
	// Ids are r<region>_p<percent>: they must start with a lowercase letter,
	// and region names may hold characters an id may not.
	type slot struct{ region, percent int }
	slots := map[string]slot{}
	queries := make([]types.MetricDataQuery, 0, len(regions)*len(percents))
	for r, region := range regions {
		metric := &types.Metric{
			Namespace:  aws.String(namespace),
			MetricName: aws.String("Latency"),
			Dimensions: []types.Dimension{
				{Name: aws.String("Canary"), Value: aws.String(canary)},
				{Name: aws.String("Region"), Value: aws.String(region)},
			},
		}
		for p := range percents {
			id := fmt.Sprintf("r%d_p%d", r, p)
			slots[id] = slot{r, p}
			queries = append(queries, types.MetricDataQuery{
				Id:         aws.String(id),
				ReturnData: aws.Bool(true),
				MetricStat: &types.MetricStat{Metric: metric, Period: aws.Int32(period), Stat: aws.String(stats[p])},
			})
		}
	}

	values := make([][]float64, len(regions))
	have := make([][]bool, len(regions))
	for r := range regions {
		values[r] = make([]float64, len(percents))
		have[r] = make([]bool, len(percents))
	}
	for lo := 0; lo < len(queries); lo += slo.MaxQueriesPerCall {
		in := &cloudwatch.GetMetricDataInput{
			StartTime:         aws.Time(from),
			EndTime:           aws.Time(to),
			MetricDataQueries: queries[lo:min(lo+slo.MaxQueriesPerCall, len(queries))],
		}
		if c.maxDatapoints > 0 {
			in.MaxDatapoints = aws.Int32(c.maxDatapoints)
		}
		err := c.call(ctx, in, func(res types.MetricDataResult) error {
			id := aws.ToString(res.Id)
			s, ok := slots[id]
			if !ok {
				return nil
			}
			name := fmt.Sprintf("query %s (%s in %s)", id, stats[s.percent], regions[s.region])
			if err := cwResultError(res); err != nil {
				return fmt.Errorf("%s: %s: %w", cwLatencyErr, name, err)
			}
			for _, v := range res.Values {
				// The range is one period, so a second value means
				// CloudWatch split it, and percentiles of parts do not
				// combine into the whole's.
				if have[s.region][s.percent] {
					return fmt.Errorf("%s: %s: more than one datapoint for a single period of %ds", cwLatencyErr, name, period)
				}
				values[s.region][s.percent], have[s.region][s.percent] = v, true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for r, region := range regions {
		complete := true
		for _, ok := range have[r] {
			complete = complete && ok
		}
		if complete {
			out[region] = values[r]
		}
	}
	return out, nil
}

// call makes one GetMetricData call and follows NextToken, handing each
// result to use.
func (c *CloudWatchLatency) call(ctx context.Context, in *cloudwatch.GetMetricDataInput, use func(types.MetricDataResult) error) error {
	for {
		c.calls.Add(1)
		out, err := c.Client.GetMetricData(ctx, in)
		if err != nil {
			return fmt.Errorf("%s: %w", cwLatencyErr, err)
		}
		for _, res := range out.MetricDataResults {
			if err := use(res); err != nil {
				return err
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// period is [from, to) as one CloudWatch period in seconds, if CloudWatch
// keeps data that old at a resolution the range is aligned to.
func (c *CloudWatchLatency) period(from, to time.Time) (int32, error) {
	span := to.Sub(from)
	if span <= 0 || span%time.Minute != 0 || !from.Equal(from.Truncate(time.Minute)) {
		return 0, fmt.Errorf("%s: CloudWatch periods are whole minutes, so percentiles are read over whole minutes; got [%s, %s)",
			cwLatencyErr, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	age := clock.OrReal(c.Clock).Now().Sub(from)
	res := slo.CloudWatchResolution(age)
	if res == 0 {
		return 0, fmt.Errorf("%s: [%s, %s) starts %s ago, before the 455 days CloudWatch keeps",
			cwLatencyErr, from.Format(time.RFC3339), to.Format(time.RFC3339), slo.FormatDuration(age.Truncate(time.Minute)))
	}
	if span%res != 0 || !from.Equal(from.Truncate(res)) {
		return 0, fmt.Errorf("%s: [%s, %s) starts %s ago, where CloudWatch keeps only %s data: its start and length must be whole multiples of %s",
			cwLatencyErr, from.Format(time.RFC3339), to.Format(time.RFC3339), slo.FormatDuration(age.Truncate(time.Minute)),
			slo.FormatDuration(res), slo.FormatDuration(res))
	}
	if span/time.Second > math.MaxInt32 {
		return 0, fmt.Errorf("%s: [%s, %s) is too long for one CloudWatch period", cwLatencyErr, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return int32(span / time.Second), nil
}

// cwResultError is the error a query's status reports: Complete and
// PartialData (more on the next page) are fine, as is no status.
func cwResultError(res types.MetricDataResult) error {
	switch res.StatusCode {
	case types.StatusCodeComplete, types.StatusCodePartialData, "":
		return nil
	}
	var msgs []string
	for _, m := range res.Messages {
		msgs = append(msgs, aws.ToString(m.Code)+": "+aws.ToString(m.Value))
	}
	if len(msgs) == 0 {
		return fmt.Errorf("status %s", res.StatusCode)
	}
	return fmt.Errorf("status %s (%s)", res.StatusCode, strings.Join(msgs, "; "))
}

// uniqueStrings is ss without repeats, in first-seen order.
func uniqueStrings(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
