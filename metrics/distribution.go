package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Bucket is one non-zero bucket of an HDR histogram of latency in
// microseconds. Every value in [Low, High] was recorded as the same value;
// High is the one a percentile reports, and the one nines publishes, so a
// percentile computed from published buckets is the histogram's own.
type Bucket struct {
	Low, High int64
	Count     int64
}

// Distribution is a histogram's non-zero buckets in ascending order: the
// form in which nines publishes, stores, merges and queries latency. It is
// the histogram at its own precision, nothing coarser, so merging two
// distributions is exact and a percentile of the merge is the percentile
// the merged histogram would report.
type Distribution []Bucket

// DistributionOf returns h's non-zero buckets. A nil h gives nil.
//
// It walks the counts array itself with the histogram's documented bucket
// geometry, because h.Distribution() builds a bar for every bucket, empty or
// not: tens of thousands of them for a histogram holding six values.
func DistributionOf(h *hdrhistogram.Histogram) Distribution {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	snap := h.Export()
	unit := int32(math.Floor(math.Log2(float64(max(snap.LowestTrackableValue, 1)))))
	halfMag := int32(math.Ceil(math.Log2(2*math.Pow10(int(snap.SignificantFigures))))) - 1
	half := int32(1) << halfMag
	var d Distribution
	for i, c := range snap.Counts {
		if c == 0 {
			continue
		}
		idx := int32(i)
		bucket := idx>>halfMag - 1
		sub := idx&(half-1) + half
		if bucket < 0 {
			sub -= half
			bucket = 0
		}
		low := int64(sub) << (bucket + unit)
		d = append(d, Bucket{Low: low, High: low + int64(1)<<(bucket+unit) - 1, Count: c})
	}
	return d
}

// Total is the number of values in the distribution.
func (d Distribution) Total() int64 {
	var n int64
	for _, b := range d {
		n += b.Count
	}
	return n
}

// Merge returns the sum of d and o, leaving both unchanged. Buckets with the
// same bounds add up; the result stays sorted.
func (d Distribution) Merge(o Distribution) Distribution {
	if len(o) == 0 {
		return append(Distribution(nil), d...)
	}
	if len(d) == 0 {
		return append(Distribution(nil), o...)
	}
	out := make(Distribution, 0, max(len(d), len(o)))
	i, j := 0, 0
	for i < len(d) && j < len(o) {
		a, b := d[i], o[j]
		switch {
		case a.Low == b.Low && a.High == b.High:
			out = append(out, Bucket{Low: a.Low, High: a.High, Count: a.Count + b.Count})
			i++
			j++
		case a.Low < b.Low || (a.Low == b.Low && a.High < b.High):
			out = append(out, a)
			i++
		default:
			out = append(out, b)
			j++
		}
	}
	out = append(out, d[i:]...)
	return append(out, o[j:]...)
}

// AtOrUnder counts the values at or under us microseconds: the good events
// of a latency SLI with that threshold. A bucket counts when its High does,
// which is how CloudWatch's PR(:threshold) sees the published values.
func (d Distribution) AtOrUnder(us int64) int64 {
	var n int64
	for _, b := range d {
		if b.High > us {
			break
		}
		n += b.Count
	}
	return n
}

// ValueAtPercentile returns the value at percent (99.9 for p99.9) in
// microseconds, with the histogram's own rank rule, or 0 when d is empty.
func (d Distribution) ValueAtPercentile(percent float64) int64 {
	total := d.Total()
	if total == 0 {
		return 0
	}
	rank := percentRank(percent, total)
	var seen int64
	for _, b := range d {
		seen += b.Count
		if seen >= rank {
			if percent <= 0 {
				return b.Low
			}
			return b.High
		}
	}
	return d[len(d)-1].High
}

// percentRank is the rank hdrhistogram-go uses: round half up, clamped to
// [1, total].
func percentRank(percent float64, total int64) int64 {
	percent = min(max(percent, 0), 100)
	rank := percent/100*float64(total) + 0.5
	if !(rank >= 1) {
		return 1
	}
	if rank >= float64(total) {
		return total
	}
	return int64(rank)
}

// Histogram rebuilds an HDR histogram at precision significant figures.
// With the precision the distribution was taken at, the result equals the
// original histogram.
func (d Distribution) Histogram(precision int) (*hdrhistogram.Histogram, error) {
	h := NewLatencyHistogram(precision)
	for _, b := range d {
		if err := h.RecordValues(b.Low, b.Count); err != nil {
			return nil, fmt.Errorf("bucket %d-%d µs: %w", b.Low, b.High, err)
		}
	}
	return h, nil
}

// distributionVersion leads every encoded distribution.
const distributionVersion = 1

// AppendBinary appends d's compact encoding to buf: a version byte, the
// bucket count, then per bucket the zigzag delta of Low from the previous
// Low, High-Low and Count as varints. A minute of a canary's latency takes
// a few dozen bytes.
func (d Distribution) AppendBinary(buf []byte) []byte {
	buf = append(buf, distributionVersion)
	buf = binary.AppendUvarint(buf, uint64(len(d)))
	var prev int64
	for _, b := range d {
		buf = binary.AppendVarint(buf, b.Low-prev)
		buf = binary.AppendUvarint(buf, uint64(b.High-b.Low))
		buf = binary.AppendUvarint(buf, uint64(b.Count))
		prev = b.Low
	}
	return buf
}

var errBadDistribution = errors.New("malformed latency distribution")

// DecodeDistribution reads what AppendBinary wrote. An empty input is an
// empty distribution.
func DecodeDistribution(buf []byte) (Distribution, error) {
	if len(buf) == 0 {
		return nil, nil
	}
	if buf[0] != distributionVersion {
		return nil, fmt.Errorf("%w: version %d", errBadDistribution, buf[0])
	}
	buf = buf[1:]
	n, k := binary.Uvarint(buf)
	if k <= 0 || n > uint64(len(buf)) {
		return nil, errBadDistribution
	}
	buf = buf[k:]
	d := make(Distribution, 0, n)
	var prev int64
	for range n {
		delta, k1 := binary.Varint(buf)
		if k1 <= 0 {
			return nil, errBadDistribution
		}
		width, k2 := binary.Uvarint(buf[k1:])
		if k2 <= 0 {
			return nil, errBadDistribution
		}
		count, k3 := binary.Uvarint(buf[k1+k2:])
		if k3 <= 0 {
			return nil, errBadDistribution
		}
		buf = buf[k1+k2+k3:]
		low := prev + delta
		d = append(d, Bucket{Low: low, High: low + int64(width), Count: int64(count)})
		prev = low
	}
	if len(buf) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadDistribution, len(buf))
	}
	return d, nil
}

// atOrUnderEncoded counts values at or under us straight from an encoding,
// without building the distribution: what the store's SQL function runs for
// every row of a latency SLI.
func atOrUnderEncoded(buf []byte, us int64) (int64, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	if buf[0] != distributionVersion {
		return 0, errBadDistribution
	}
	buf = buf[1:]
	n, k := binary.Uvarint(buf)
	if k <= 0 {
		return 0, errBadDistribution
	}
	buf = buf[k:]
	var prev, total int64
	for range n {
		delta, k1 := binary.Varint(buf)
		width, k2 := binary.Uvarint(buf[max(k1, 0):])
		count, k3 := binary.Uvarint(buf[max(k1, 0)+max(k2, 0):])
		if k1 <= 0 || k2 <= 0 || k3 <= 0 {
			return 0, errBadDistribution
		}
		buf = buf[k1+k2+k3:]
		low := prev + delta
		if low+int64(width) > us {
			break
		}
		total += int64(count)
		prev = low
	}
	return total, nil
}

// sortDistribution orders buckets, for distributions built by hand.
func sortDistribution(d Distribution) {
	sort.Slice(d, func(i, j int) bool {
		if d[i].Low != d[j].Low {
			return d[i].Low < d[j].Low
		}
		return d[i].High < d[j].High
	})
}
