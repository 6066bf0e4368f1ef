package cost

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Micro is an amount in millionths of a unit: currency, core-hours or
// GiB-hours.
type Micro int64

// microPerUnit is the number of Micro in one unit.
const microPerUnit = 1_000_000

// maxFloatUnits bounds what FromFloat accepts, far below int64's range so
// that sums over a window cannot overflow.
const maxFloatUnits = 1e12

// FromFloat converts a decoded value to Micro, rounding half away from
// zero. NaN (OpenCost's null) is zero and reported by ok=false.
func FromFloat(f float64) (m Micro, ok bool, err error) {
	if math.IsNaN(f) {
		return 0, false, nil
	}
	if math.IsInf(f, 0) || math.Abs(f) > maxFloatUnits {
		return 0, false, fmt.Errorf("value %g is out of range (|v| <= %g)", f, maxFloatUnits)
	}
	return Micro(math.Round(f * microPerUnit)), true, nil
}

// String renders m with six decimals, exactly.
func (m Micro) String() string {
	return formatFixed(int64(m), microPerUnit, 6)
}

// Float is m in units, for metrics and ratios only.
func (m Micro) Float() float64 { return float64(m) / microPerUnit }

// Cents is an amount in hundredths of a currency unit.
type Cents int64

// String renders c with two decimals, exactly.
func (c Cents) String() string { return formatFixed(int64(c), 100, 2) }

func formatFixed(v, scale int64, digits int) string {
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", uint64(-v)
	}
	whole, frac := u/uint64(scale), u%uint64(scale)
	f := strconv.FormatUint(frac, 10)
	for len(f) < digits {
		f = "0" + f
	}
	return sign + strconv.FormatUint(whole, 10) + "." + f
}

// Split apportions total over weights with the largest-remainder method:
// every share is total*w/W rounded down, and the units left over go one
// each to the largest remainders, ties to the lower index. The shares sum
// exactly to total. Negative weights count as zero; when all weights are
// zero, or there are none but out is non-empty, the split is even. out is
// reused if it has the capacity.
func Split(total Micro, weights []Micro, out []Micro) []Micro {
	n := len(weights)
	out = slices.Grow(out[:0], n)[:n]
	if n == 0 {
		return out
	}
	w := make([]uint64, n)
	for i, x := range weights {
		if x > 0 {
			w[i] = uint64(x)
		}
	}
	sum, ok := sumUint(w)
	for !ok {
		// Halve the weights until their sum fits; the apportionment
		// changes by at most one part in 2^62.
		for i := range w {
			w[i] /= 2
		}
		sum, ok = sumUint(w)
	}
	if sum == 0 {
		for i := range w {
			w[i] = 1
		}
		sum = uint64(n)
	}
	neg := total < 0
	abs := uint64(total)
	if neg {
		abs = uint64(-total)
	}
	rem := make([]uint64, n)
	var given uint64
	for i := range w {
		hi, lo := bits.Mul64(abs, w[i])
		q, r := bits.Div64(hi, lo, sum)
		out[i], rem[i] = Micro(q), r
		given += q
	}
	left := abs - given
	if left > 0 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case rem[a] > rem[b]:
				return -1
			case rem[a] < rem[b]:
				return 1
			}
			return 0
		})
		for _, i := range idx[:left] {
			out[i]++
		}
	}
	if neg {
		for i := range out {
			out[i] = -out[i]
		}
	}
	return out
}

// RoundCents rounds values to cents so that the rounded values sum to the
// rounded sum (half away from zero): each value is rounded down and the
// cents left over go to the largest remainders, ties to the lower index.
// out is reused if it has the capacity.
func RoundCents(values []Micro, out []Cents) []Cents {
	const per = microPerUnit / 100
	n := len(values)
	out = slices.Grow(out[:0], n)[:n]
	rem := make([]int64, n)
	var sum, floors int64
	for i, v := range values {
		q, r := int64(v)/per, int64(v)%per
		if r < 0 {
			q, r = q-1, r+per
		}
		out[i], rem[i] = Cents(q), r
		sum += int64(v)
		floors += q
	}
	left := int64(RoundCent(Micro(sum))) - floors
	if left <= 0 {
		return out
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for _, i := range idx[:min(int(left), n)] {
		out[i]++
	}
	return out
}

// RoundCent rounds one value to cents, half away from zero.
func RoundCent(v Micro) Cents {
	const per = microPerUnit / 100
	q, r := int64(v)/per, int64(v)%per
	switch {
	case r >= per/2:
		q++
	case r <= -per/2:
		q--
	}
	return Cents(q)
}

func sumUint(w []uint64) (uint64, bool) {
	var sum, carry uint64
	for _, x := range w {
		sum, carry = bits.Add64(sum, x, 0)
		if carry != 0 {
			return 0, false
		}
	}
	return sum, true
}
