// Package cloudwatch reads disk usage from the CloudWatch agent's metrics:
// the health check's disk source in AWS, where the application's servers
// run the agent and a Lambda function cannot statfs their disks.
//
// The agent publishes disk_used_percent in namespace CWAgent with the
// dimensions host, path, device and fstype, and sometimes more (those of
// append_dimensions, such as InstanceId). A threshold knows only host and
// path, so the source first asks ListMetrics for the metrics with those
// two dimension values (whatever the others), which matches the values
// exactly, and then reads the latest datapoint of all of them with one
// GetMetricData. A SEARCH expression was not used: it matches terms
// loosely (a search for path "/var" also finds "/var/log") and needs the
// full dimension set spelled out. When several metrics match one disk
// (a remount under another device, or no host given, meaning every host
// that reports the path), the highest usage counts.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// The agent's metric.
const (
	Namespace  = "CWAgent"
	MetricName = "disk_used_percent"
)

// Lookback is how far back a datapoint still counts as current. The
// agent reports every 60 s by default.
const Lookback = 15 * time.Minute

// maxQueries is GetMetricData's limit of queries per call.
const maxQueries = 500

// API is the part of the CloudWatch client the source uses.
type API interface {
	ListMetrics(context.Context, *cloudwatch.ListMetricsInput,
		...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error)
	GetMetricData(context.Context, *cloudwatch.GetMetricDataInput,
		...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// Source is a health.DiskSource over the agent's metrics.
type Source struct {
	api API
	now func() time.Time
}

// New returns a source over api; now is the clock that sets the window.
func New(api API, now func() time.Time) *Source {
	return &Source{api: api, now: now}
}

// NewFromEnv returns a CloudWatch client configured as Lambda configures
// a function (see dynamo.NewFromEnv). It makes no network call.
func NewFromEnv() (*cloudwatch.Client, error) {
	region := os.Getenv("AWS_REGION")
	key := os.Getenv("AWS_ACCESS_KEY_ID")
	secret := os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return nil, errors.New("cloudwatch: AWS_REGION and credentials must be set")
	}
	return cloudwatch.New(cloudwatch.Options{
		Region: region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret,
			os.Getenv("AWS_SESSION_TOKEN")),
		RetryMaxAttempts: 2,
		RetryMode:        aws.RetryModeStandard,
		HTTPClient:       awshttp.NewBuildableClient().WithTimeout(3 * time.Second),
	}), nil
}

// Usage reads each disk's latest disk_used_percent. A failed call makes
// every disk it concerned read EUnavailable; a disk with no metric or no
// datapoint in Lookback reads health.ErrNoData.
func (s *Source) Usage(ctx context.Context, disks []health.Disk) []health.Reading {
	out := make([]health.Reading, len(disks))
	metrics := s.listAll(ctx, disks, out)

	var queries []types.MetricDataQuery
	owner := map[string]int{} // query id -> disk
	for i, ms := range metrics {
		for j, m := range ms {
			id := fmt.Sprintf("d%d_%d", i, j)
			owner[id] = i
			queries = append(queries, types.MetricDataQuery{
				Id: aws.String(id),
				MetricStat: &types.MetricStat{
					Metric: &m, Period: aws.Int32(60), Stat: aws.String("Maximum"),
				},
				ReturnData: aws.Bool(true),
			})
		}
	}
	latest := map[int]float64{}
	for chunk := range slices.Chunk(queries, maxQueries) {
		values, err := s.latest(ctx, chunk)
		for _, q := range chunk {
			i := owner[*q.Id]
			if err != nil {
				out[i].Err = err
				continue
			}
			v, ok := values[*q.Id]
			if old, seen := latest[i]; ok && (!seen || v > old) {
				latest[i] = v
			}
		}
	}
	for i, d := range disks {
		if out[i].Err != nil {
			continue
		}
		v, ok := latest[i]
		if !ok {
			out[i].Err = noData(d)
			continue
		}
		out[i].UsedPercent = v
	}
	return out
}

func noData(d health.Disk) error {
	host := d.Host
	if host == "" {
		host = "any host"
	}
	return fmt.Errorf("%w: no %s metric for %s on %s in the last %s",
		health.ErrNoData, MetricName, d.Path, host, Lookback)
}

// listAll finds every disk's metrics concurrently, noting failures in out.
func (s *Source) listAll(ctx context.Context, disks []health.Disk,
	out []health.Reading) [][]types.Metric {
	metrics := make([][]types.Metric, len(disks))
	var wg sync.WaitGroup
	for i, d := range disks {
		wg.Go(func() {
			metrics[i], out[i].Err = s.list(ctx, d)
		})
	}
	wg.Wait()
	return metrics
}

// list returns the metrics of one disk: every dimension set with its host
// (when given) and path, active in the last three hours.
func (s *Source) list(ctx context.Context, d health.Disk) ([]types.Metric, error) {
	dims := []types.DimensionFilter{{Name: aws.String("path"), Value: aws.String(d.Path)}}
	if d.Host != "" {
		dims = append(dims, types.DimensionFilter{Name: aws.String("host"),
			Value: aws.String(d.Host)})
	}
	in := &cloudwatch.ListMetricsInput{
		Namespace:      aws.String(Namespace),
		MetricName:     aws.String(MetricName),
		Dimensions:     dims,
		RecentlyActive: types.RecentlyActivePt3h,
	}
	var found []types.Metric
	for {
		page, err := s.api.ListMetrics(ctx, in)
		if err != nil {
			return nil, supervisor.Unavailable("CloudWatch", fmt.Errorf("list metrics: %w", err))
		}
		found = append(found, page.Metrics...)
		if aws.ToString(page.NextToken) == "" {
			return found, nil
		}
		in.NextToken = page.NextToken
	}
}

// latest returns the newest value of each query that has one in the
// window.
func (s *Source) latest(ctx context.Context, queries []types.MetricDataQuery) (map[string]float64,
	error) {
	now := s.now()
	in := &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries,
		StartTime:         aws.Time(now.Add(-Lookback)),
		EndTime:           aws.Time(now),
		ScanBy:            types.ScanByTimestampDescending,
	}
	newest := map[string]time.Time{}
	values := map[string]float64{}
	for {
		page, err := s.api.GetMetricData(ctx, in)
		if err != nil {
			return nil, supervisor.Unavailable("CloudWatch", fmt.Errorf("get metric data: %w", err))
		}
		for _, r := range page.MetricDataResults {
			id := aws.ToString(r.Id)
			for k, ts := range r.Timestamps {
				if k < len(r.Values) && ts.After(newest[id]) {
					newest[id], values[id] = ts, r.Values[k]
				}
			}
		}
		if aws.ToString(page.NextToken) == "" {
			return values, nil
		}
		in.NextToken = page.NextToken
	}
}
