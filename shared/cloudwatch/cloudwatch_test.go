package cloudwatch

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// fakeCloudWatch is a FAKE of the CloudWatch API, not CloudWatch: an
// HTTP server speaking the protocol the SDK's client (v1.76) really uses,
// Smithy RPC v2 CBOR: POST /service/GraniteServiceVersion20100801/
// operation/<Name> with a CBOR body and the Smithy-Protocol header,
// answered in CBOR; errors carry "__type". It knows ListMetrics (exact
// dimension filters, paged two metrics at a time) and GetMetricData
// (MetricStat queries, Maximum per point) and nothing else.
type fakeCloudWatch struct {
	t       *testing.T
	metrics []fakeMetric
	fail    string // operation to answer with a service error

	mu    sync.Mutex
	calls []string
}

type fakeMetric struct {
	dims   map[string]string
	points map[time.Time]float64
}

const fakePrefix = "/service/GraniteServiceVersion20100801/operation/"

func (f *fakeCloudWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, fakePrefix)
	if r.Method != http.MethodPost || !ok ||
		r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" ||
		r.Header.Get("Content-Type") != "application/cbor" {
		f.t.Errorf("fake CloudWatch: unexpected request %s %s %v", r.Method, r.URL.Path, r.Header)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, op)
	f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	v, err := cbor.Decode(body)
	in, isMap := v.(cbor.Map)
	if err != nil || !isMap {
		f.t.Errorf("fake CloudWatch: body is not a CBOR map: %v", err)
		return
	}
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if op == f.fail {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(cbor.Encode(cbor.Map{
			"__type":  cbor.String("com.amazonaws.cloudwatch#InternalServiceFault"),
			"message": cbor.String("injected"),
		}))
		return
	}
	var out cbor.Map
	switch op {
	case "ListMetrics":
		out = f.listMetrics(in)
	case "GetMetricData":
		out = f.getMetricData(in)
	default:
		f.t.Errorf("fake CloudWatch: operation %s not faked", op)
	}
	w.Write(cbor.Encode(out))
}

func (f *fakeCloudWatch) listMetrics(in cbor.Map) cbor.Map {
	if s(in["Namespace"]) != Namespace || s(in["MetricName"]) != MetricName {
		f.t.Errorf("ListMetrics for %v %v", in["Namespace"], in["MetricName"])
	}
	want := dimensions(in["Dimensions"])
	var found cbor.List
	for _, m := range f.metrics {
		if matches(m.dims, want) {
			found = append(found, cbor.Map{
				"Namespace":  cbor.String(Namespace),
				"MetricName": cbor.String(MetricName),
				"Dimensions": encodeDims(m.dims),
			})
		}
	}
	start := 0
	if tok := s(in["NextToken"]); tok != "" {
		fmt.Sscan(tok, &start)
	}
	page := found[start:min(start+2, len(found))]
	out := cbor.Map{"Metrics": page}
	if start+2 < len(found) {
		out["NextToken"] = cbor.String(fmt.Sprint(start + 2))
	}
	return out
}

func (f *fakeCloudWatch) getMetricData(in cbor.Map) cbor.Map {
	from, _ := cbor.AsTime(in["StartTime"])
	to, _ := cbor.AsTime(in["EndTime"])
	var results cbor.List
	for _, qv := range in["MetricDataQueries"].(cbor.List) {
		q := qv.(cbor.Map)
		stat := q["MetricStat"].(cbor.Map)
		if s(stat["Stat"]) != "Maximum" {
			f.t.Errorf("GetMetricData stat %v", stat["Stat"])
		}
		metric := stat["Metric"].(cbor.Map)
		dims := dimensions(metric["Dimensions"])
		var times []time.Time
		var points map[time.Time]float64
		for _, m := range f.metrics {
			if matches(m.dims, dims) && len(m.dims) == len(dims) {
				points = m.points
			}
		}
		for ts := range points {
			if !ts.Before(from) && ts.Before(to) {
				times = append(times, ts)
			}
		}
		slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) })
		var tl, vl cbor.List
		for _, ts := range times {
			tl = append(tl, &cbor.Tag{ID: 1, Value: cbor.Float64(float64(ts.Unix()))})
			vl = append(vl, cbor.Float64(points[ts]))
		}
		results = append(results, cbor.Map{
			"Id": q["Id"], "Label": cbor.String(MetricName),
			"Timestamps": tl, "Values": vl, "StatusCode": cbor.String("Complete"),
		})
	}
	return cbor.Map{"MetricDataResults": results}
}

func s(v cbor.Value) string {
	str, _ := v.(cbor.String)
	return string(str)
}

func dimensions(v cbor.Value) map[string]string {
	out := map[string]string{}
	l, _ := v.(cbor.List)
	for _, d := range l {
		m := d.(cbor.Map)
		out[s(m["Name"])] = s(m["Value"])
	}
	return out
}

func encodeDims(dims map[string]string) cbor.List {
	var l cbor.List
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		l = append(l, cbor.Map{"Name": cbor.String(k), "Value": cbor.String(dims[k])})
	}
	return l
}

// matches reports whether dims has every filter's value.
func matches(dims, filter map[string]string) bool {
	for k, v := range filter {
		if dims[k] != v {
			return false
		}
	}
	return true
}

func newFake(t *testing.T, f *fakeCloudWatch) *Source {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c := cloudwatch.New(cloudwatch.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
	return New(c, func() time.Time { return t0 })
}

func agent(host, path, device string, points map[time.Duration]float64) fakeMetric {
	m := fakeMetric{
		dims: map[string]string{"host": host, "path": path, "device": device,
			"fstype": "xfs"},
		points: map[time.Time]float64{},
	}
	for ago, v := range points {
		m.points[t0.Add(-ago)] = v
	}
	return m
}

func TestUsage(t *testing.T) {
	f := &fakeCloudWatch{metrics: []fakeMetric{
		agent("web-1", "/", "nvme0n1p1", map[time.Duration]float64{
			time.Minute: 41.2, 2 * time.Minute: 40.0, 20 * time.Minute: 99}),
		agent("web-1", "/var", "nvme1n1", map[time.Duration]float64{time.Minute: 70}),
		// A remount under another device: the higher current value counts.
		agent("web-1", "/var", "nvme2n1", map[time.Duration]float64{2 * time.Minute: 85.5}),
		agent("web-1", "/var/log", "nvme3n1", map[time.Duration]float64{time.Minute: 99}),
		agent("web-2", "/", "nvme0n1p1", map[time.Duration]float64{time.Minute: 60}),
		agent("web-3", "/old", "nvme0n1p1", map[time.Duration]float64{time.Hour: 50}),
	}}
	src := newFake(t, f)
	got := src.Usage(t.Context(), []health.Disk{
		{Host: "web-1", Path: "/"},
		{Host: "web-1", Path: "/var"},
		{Path: "/"},
		{Host: "web-3", Path: "/old"},
		{Host: "web-9", Path: "/"},
	})
	want := []float64{41.2, 85.5, 60, -1, -1} // -1: no data
	for i, w := range want {
		switch {
		case w < 0 && !errors.Is(got[i].Err, health.ErrNoData):
			t.Errorf("disk %d: %+v, want ErrNoData", i, got[i])
		case w >= 0 && (got[i].Err != nil || got[i].UsedPercent != w):
			t.Errorf("disk %d: %+v, want %v", i, got[i], w)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var data int
	for _, c := range f.calls {
		if c == "GetMetricData" {
			data++
		}
	}
	if data != 1 {
		t.Errorf("%d GetMetricData calls, want 1 for all disks (calls: %v)", data, f.calls)
	}
}

func TestUsageServiceError(t *testing.T) {
	tests := []struct {
		name string
		fail string
	}{
		{"list fails", "ListMetrics"},
		{"data fails", "GetMetricData"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeCloudWatch{fail: tt.fail, metrics: []fakeMetric{
				agent("web-1", "/", "d", map[time.Duration]float64{time.Minute: 1}),
			}}
			got := newFake(t, f).Usage(t.Context(), []health.Disk{{Host: "web-1", Path: "/"}})
			if code := supervisor.ErrorCode(got[0].Err); code != supervisor.EUnavailable {
				t.Errorf("err = %v, want EUnavailable", got[0].Err)
			}
		})
	}
}

func TestFakeSpeaksTheClientsProtocol(t *testing.T) {
	f := &fakeCloudWatch{metrics: []fakeMetric{
		agent("a", "/", "d1", nil), agent("a", "/", "d2", nil), agent("a", "/", "d3", nil),
	}}
	src := newFake(t, f)
	ms, err := src.list(t.Context(), health.Disk{Host: "a", Path: "/"})
	if err != nil {
		t.Fatal(err)
	}
	var devices []string
	for _, m := range ms {
		for _, d := range m.Dimensions {
			if aws.ToString(d.Name) == "device" {
				devices = append(devices, aws.ToString(d.Value))
			}
		}
	}
	if diff := cmp.Diff([]string{"d1", "d2", "d3"}, devices); diff != "" {
		t.Errorf("paged ListMetrics mismatch (-want +got):\n%s", diff)
	}
}
