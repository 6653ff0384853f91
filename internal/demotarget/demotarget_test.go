package demotarget

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

func TestTimelineDrivesTheShop(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	s, err := StartWith(Config{Addr: "127.0.0.1:0", Clock: clk, Timeline: []Phase{
		{Name: "healthy", Duration: 10 * time.Minute},
		{Name: "flaky", Duration: 10 * time.Minute, ErrorEvery: 2},
		{Name: "outage", Duration: 10 * time.Minute, ErrorEvery: 1},
		{Name: "recovered", Duration: time.Hour},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	status := func() int {
		resp, err := http.Get(s.URL() + "/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		at    time.Duration
		phase string
		want  []int
	}{
		{0, "healthy", []int{200, 200, 200, 200}},
		{10 * time.Minute, "flaky", []int{200, 503, 200, 503}},
		{20 * time.Minute, "outage", []int{503, 503, 503, 503}},
		{30 * time.Minute, "recovered", []int{200, 200, 200, 200}},
		{5 * time.Hour, "recovered", []int{200, 200}},
	}
	start := clk.Now()
	for _, tc := range cases {
		clk.Set(start.Add(tc.at))
		if p := s.Phase(); p.Name != tc.phase {
			t.Fatalf("at %s the phase is %q, want %q", tc.at, p.Name, tc.phase)
		}
		for i, want := range tc.want {
			if got := status(); got != want {
				t.Errorf("%s request %d: status %d, want %d", tc.phase, i, got, want)
			}
		}
	}
}

func TestLoginThenCart(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Post(s.URL()+"/login", "application/json", bytes.NewBufferString(`{"user":"canary"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	tok := buf.String()[len(`{"token":"`) : len(`{"token":"`)+32]
	req, _ := http.NewRequest("GET", s.URL()+"/cart", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("cart with the token: %v %v", resp, err)
	}
	if resp, err := http.Get(s.URL() + "/cart"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("cart without a token: %v %v", resp, err)
	}
}
