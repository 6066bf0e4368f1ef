package cost

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromFloat(t *testing.T) {
	tests := []struct {
		in      float64
		want    Micro
		wantOK  bool
		wantErr bool
	}{
		{in: 0.768, want: 768000, wantOK: true},
		{in: 1.23456, want: 1234560, wantOK: true},
		{in: -0.0000005, want: -1, wantOK: true},
		{in: 0.0000005, want: 1, wantOK: true},
		{in: 123456.78901, want: 123456789010, wantOK: true},
		{in: math.NaN(), want: 0, wantOK: false},
		{in: math.Inf(1), wantErr: true},
		{in: 2e12, wantErr: true},
	}
	for _, tc := range tests {
		got, ok, err := FromFloat(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want || ok != tc.wantOK {
			t.Errorf("FromFloat(%v) = %d, %v, %v; want %d, %v, error %v", tc.in, got, ok, err, tc.want, tc.wantOK, tc.wantErr)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Micro(1234560).String(), "1.234560"},
		{Micro(-5).String(), "-0.000005"},
		{Micro(0).String(), "0.000000"},
		{Cents(12345).String(), "123.45"},
		{Cents(-7).String(), "-0.07"},
		{Cents(math.MinInt64 + 1).String(), "-92233720368547758.07"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		total   Micro
		weights []Micro
		want    []Micro
	}{
		{name: "exact", total: 100, weights: []Micro{1, 3}, want: []Micro{25, 75}},
		{name: "ties go to the lower index", total: 10, weights: []Micro{1, 1, 1}, want: []Micro{4, 3, 3}},
		{name: "negative total", total: -10, weights: []Micro{1, 1, 1}, want: []Micro{-4, -3, -3}},
		{name: "largest remainder wins", total: 7, weights: []Micro{2, 1}, want: []Micro{5, 2}},
		{name: "remainder order beats index", total: 10, weights: []Micro{1, 2, 4}, want: []Micro{1, 3, 6}},
		{name: "all zero is even", total: 5, weights: []Micro{0, 0}, want: []Micro{3, 2}},
		{name: "negative weights count as zero", total: 9, weights: []Micro{-5, 3}, want: []Micro{0, 9}},
		{name: "weights that overflow a sum", total: 3, weights: []Micro{math.MaxInt64, math.MaxInt64}, want: []Micro{2, 1}},
		{name: "large total and weights", total: 1_000_000_000_000_000, weights: []Micro{1_000_000_000_000, 2_000_000_000_000},
			want: []Micro{333_333_333_333_333, 666_666_666_666_667}},
		{name: "none", total: 5, weights: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]Micro(nil), tc.weights...)
			got := Split(tc.total, tc.weights, nil)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Split (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tc.weights); diff != "" {
				t.Errorf("Split modified its weights:\n%s", diff)
			}
		})
	}
}

func TestSplitConservesRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + rng.IntN(20)
		w := make([]Micro, n)
		for i := range w {
			w[i] = Micro(rng.Int64N(1_000_000_000)) - 100_000_000
		}
		total := Micro(rng.Int64N(2_000_000_000_000)) - 1_000_000_000_000
		var sum Micro
		for _, s := range Split(total, w, nil) {
			sum += s
		}
		if sum != total {
			t.Fatalf("Split(%d, %v) sums to %d", total, w, sum)
		}
	}
}

func TestRoundCents(t *testing.T) {
	tests := []struct {
		name string
		in   []Micro
		want []Cents
	}{
		{name: "sub-cent values", in: []Micro{4000, 4000, 4000}, want: []Cents{1, 0, 0}},
		{name: "half cents tie to lower index", in: []Micro{1_005_000, 2_005_000}, want: []Cents{101, 200}},
		{name: "largest remainder", in: []Micro{1_004_000, 2_006_000}, want: []Cents{100, 201}},
		{name: "negative", in: []Micro{-4000, -4000}, want: []Cents{0, -1}},
		{name: "exact", in: []Micro{1_230_000, -450_000}, want: []Cents{123, -45}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, RoundCents(tc.in, nil)); diff != "" {
				t.Errorf("RoundCents (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoundCentsSumsToRoundedSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		in := make([]Micro, 1+rng.IntN(30))
		var sum Micro
		for i := range in {
			in[i] = Micro(rng.Int64N(200_000_000)) - 50_000_000
			sum += in[i]
		}
		var got Cents
		for i, c := range RoundCents(in, nil) {
			if d := int64(c)*10_000 - int64(in[i]); d <= -10_000 || d >= 20_000 {
				t.Fatalf("RoundCents moved %d by %d micro", in[i], d)
			}
			got += c
		}
		if want := RoundCent(sum); got != want {
			t.Fatalf("RoundCents(%v) sums to %d, want %d", in, got, want)
		}
	}
}
