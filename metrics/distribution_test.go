package metrics

import (
	"math/rand/v2"
	"testing"
)

func TestDistribution(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h1, h2 := NewLatencyHistogram(DefaultPrecision), NewLatencyHistogram(DefaultPrecision)
	for range 20000 {
		_ = h1.RecordValue(lognormalUs(r))
		_ = h2.RecordValue(lognormalUs(r) * 3)
	}
	d1, d2 := DistributionOf(h1), DistributionOf(h2)

	t.Run("The buckets are the histogram's own non-zero bars", func(t *testing.T) {
		for _, precision := range []int{1, 2, 3, 4} {
			h := NewLatencyHistogram(precision)
			for range 5000 {
				_ = h.RecordValue(lognormalUs(r) * int64(1+r.IntN(50)))
			}
			_ = h.RecordValue(1)
			_ = h.RecordValue(HighestLatencyUs)
			var want Distribution
			for _, bar := range h.Distribution() {
				if bar.Count > 0 {
					want = append(want, Bucket{Low: bar.From, High: bar.To, Count: bar.Count})
				}
			}
			got := DistributionOf(h)
			if len(got) != len(want) {
				t.Fatalf("precision %d: %d buckets, want %d", precision, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("precision %d: bucket %d = %+v, want %+v", precision, i, got[i], want[i])
				}
			}
		}
	})

	t.Run("The encoding round-trips exactly", func(t *testing.T) {
		got, err := DecodeDistribution(d1.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(d1) {
			t.Fatalf("decoded %d buckets, want %d", len(got), len(d1))
		}
		for i := range got {
			if got[i] != d1[i] {
				t.Fatalf("bucket %d = %+v, want %+v", i, got[i], d1[i])
			}
		}
	})

	t.Run("Rebuilding the histogram gives the same histogram", func(t *testing.T) {
		h, err := d1.Histogram(DefaultPrecision)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Equals(h1) {
			t.Error("rebuilt histogram differs from the original")
		}
	})

	t.Run("Merging distributions is merging histograms", func(t *testing.T) {
		merged := d1.Merge(d2)
		hm := NewLatencyHistogram(DefaultPrecision)
		hm.Merge(h1)
		hm.Merge(h2)
		want := DistributionOf(hm)
		if len(merged) != len(want) {
			t.Fatalf("merged has %d buckets, want %d", len(merged), len(want))
		}
		for i := range want {
			if merged[i] != want[i] {
				t.Fatalf("bucket %d = %+v, want %+v", i, merged[i], want[i])
			}
		}
		for _, p := range []float64{0, 50, 90, 99, 99.9, 99.99, 100} {
			if got, want := merged.ValueAtPercentile(p), hm.ValueAtQuantile(p); got != want {
				t.Errorf("p%v = %d, histogram says %d", p, got, want)
			}
		}
	})

	t.Run("Counting at or under a threshold agrees with and without decoding", func(t *testing.T) {
		enc := d1.AppendBinary(nil)
		for _, th := range []int64{0, 1, 10_000, 40_000, 40_001, 100_000, 1 << 40} {
			got, err := atOrUnderEncoded(enc, th)
			if err != nil {
				t.Fatal(err)
			}
			if want := d1.AtOrUnder(th); got != want {
				t.Errorf("threshold %d: encoded count %d, decoded count %d", th, got, want)
			}
			var brute int64
			for _, b := range d1 {
				if b.High <= th {
					brute += b.Count
				}
			}
			if brute != got {
				t.Errorf("threshold %d: count %d, buckets say %d", th, got, brute)
			}
		}
	})

	t.Run("A truncated encoding is an error, not a panic", func(t *testing.T) {
		enc := d1.AppendBinary(nil)
		for _, n := range []int{1, 2, len(enc) / 2, len(enc) - 1} {
			if _, err := DecodeDistribution(enc[:n]); err == nil {
				t.Errorf("decoding %d of %d bytes succeeded", n, len(enc))
			}
		}
	})
}
