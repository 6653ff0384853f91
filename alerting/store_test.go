package alerting_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/dynalite"
)

// stores are every Store, each new and empty.
var stores = []struct {
	name string
	open func(t *testing.T) alerting.Store
}{
	{"memory", func(t *testing.T) alerting.Store { return alerting.NewMemoryStore() }},
	{"sqlite", func(t *testing.T) alerting.Store {
		s, err := alerting.OpenSQLite(context.Background(), t.TempDir()+"/nines.db")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"dynamodb", func(t *testing.T) alerting.Store {
		f := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
		s, err := alerting.NewDynamoDBStore(f.Client(), "nines-alerts")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTable(context.Background(), awsfake.ShortTableWait); err != nil {
			t.Fatal(err)
		}
		return s
	}},
	{"dynalite", func(t *testing.T) alerting.Store {
		s, err := alerting.NewDynamoDBStore(dynalite.Start(t).API(), "nines-alerts")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateTable(context.Background(), awsfake.ShortTableWait); err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

func sampleAlert() alerting.Alert {
	n := notifiertest.Sample(alerting.KindFire)
	return alerting.Alert{
		Key: n.Key, Status: alerting.Firing, FiredAt: t0, LastSent: t0, Seq: 1, Announced: true,
		Last: n.Details, Threads: map[string]string{"slack": "1700000000.100001"},
		Pending: []alerting.Pending{{Notification: n, Receivers: []string{"sns"}, Queued: t0}},
	}
}

func TestStores(t *testing.T) {
	ctx := context.Background()
	for _, st := range stores {
		t.Run(st.name+": an alert reads back as it was saved", func(t *testing.T) {
			s := st.open(t)
			a := sampleAlert()
			if err := s.Save(ctx, &a); err != nil {
				t.Fatal(err)
			}
			if a.Version != 1 {
				t.Errorf("version after the first save is %d, want 1", a.Version)
			}
			got, err := s.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("loaded %d alerts, want 1", len(got))
			}
			if !reflect.DeepEqual(got[0], a) {
				t.Errorf("loaded\n%+v\nwant\n%+v", got[0], a)
			}
		})
		t.Run(st.name+": a save from a stale read is a conflict", func(t *testing.T) {
			s := st.open(t)
			a := sampleAlert()
			if err := s.Save(ctx, &a); err != nil {
				t.Fatal(err)
			}
			// Two evaluators read version 1; the first to save wins.
			first, second := a, a
			first.Seq, second.Seq = 2, 3
			if err := s.Save(ctx, &first); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, &second); !errors.Is(err, alerting.ErrConflict) {
				t.Errorf("the second save returned %v, want ErrConflict", err)
			}
			got, _ := s.Load(ctx)
			if got[0].Seq != 2 || got[0].Version != 2 {
				t.Errorf("stored seq %d version %d, want the first writer's: 2 and 2", got[0].Seq, got[0].Version)
			}
		})
		t.Run(st.name+": creating an alert twice is a conflict", func(t *testing.T) {
			s := st.open(t)
			a, b := sampleAlert(), sampleAlert()
			if err := s.Save(ctx, &a); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, &b); !errors.Is(err, alerting.ErrConflict) {
				t.Errorf("the second create returned %v, want ErrConflict", err)
			}
		})
	}
}

func TestDynamoDBStoreSurvivesThrottling(t *testing.T) {
	f := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	s, _ := alerting.NewDynamoDBStore(f.Client(), "nines-alerts")
	ctx := context.Background()
	if err := s.CreateTable(ctx, awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	f.Throttle("PutItem", 1)
	a := sampleAlert()
	// The SDK's own retryer handles a throttled write; the conditional
	// write still applies once.
	if err := s.Save(ctx, &a); err != nil {
		t.Fatal(err)
	}
	alerts, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Version != 1 {
		t.Errorf("alerts %+v, want one at version 1", alerts)
	}
}
