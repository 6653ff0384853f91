package alerting

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/dynalite"
)

// dynamoDBBackends are the DynamoDB implementations the store's tests run
// against: nines' own fake, and dynalite. start returns how to get a new
// client of the same service, as a restarted process would.
var dynamoDBBackends = []struct {
	name  string
	start func(t *testing.T) func() DynamoDBAPI
}{
	{"dynamodb fake", func(t *testing.T) func() DynamoDBAPI {
		f := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
		return func() DynamoDBAPI { return f.Client() }
	}},
	{"dynalite", func(t *testing.T) func() DynamoDBAPI {
		s := dynalite.Start(t)
		return func() DynamoDBAPI { return s.API() }
	}},
}

// openDynamoDBStore returns how to open a store on the table "nines-state"
// of one backend; each open makes the table as nines does, which a table
// that exists already survives.
func openDynamoDBStore(t *testing.T, client func() DynamoDBAPI) func() *DynamoDBStore {
	return func() *DynamoDBStore {
		st, err := NewDynamoDBStore(client(), "nines-state")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateTable(context.Background(), awsfake.ShortTableWait); err != nil {
			t.Fatal(err)
		}
		return st
	}
}

// CreateTable waits for ACTIVE, so the first write after it is taken, and
// expires items by expires_at; making the table again is harmless.
func TestDynamoDBStoreCreatesAUsableTable(t *testing.T) {
	ctx := context.Background()
	fake := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	open := openDynamoDBStore(t, func() DynamoDBAPI { return fake.Client() })
	st := open()
	if err := st.Save(ctx, &Alert{Key: Key{Subject: "checkout", Severity: Page}, Status: Firing}); err != nil {
		t.Fatalf("the first save after CreateTable: %v", err)
	}
	if attr, on := fake.TimeToLive("nines-state"); !on || attr != "expires_at" {
		t.Errorf("TTL on %q enabled=%v, want expires_at enabled", attr, on)
	}
	open() // TTL is on already: not enabled twice, which DynamoDB refuses
	if n := fake.Calls("UpdateTimeToLive"); n != 1 {
		t.Errorf("UpdateTimeToLive called %d times, want 1", n)
	}
	for _, b := range dynamoDBBackends {
		t.Run(b.name, func(t *testing.T) {
			client := b.start(t)
			st := openDynamoDBStore(t, client)()
			if err := st.Save(ctx, &Alert{Key: Key{Subject: "checkout", Severity: Page}, Status: Firing}); err != nil {
				t.Fatalf("the first save after CreateTable: %v", err)
			}
			out, err := client().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("nines-state")})
			if err != nil || out.Table.TableStatus != types.TableStatusActive {
				t.Errorf("DescribeTable after CreateTable: %v, %v", out, err)
			}
		})
	}
}

// Every read of the store follows LastEvaluatedKey: with 3 MB of other
// items in the table, a Scan takes several pages of 1 MB.
func TestDynamoDBStoreReadsEveryPage(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)
	for _, b := range dynamoDBBackends {
		t.Run(b.name, func(t *testing.T) {
			client := b.start(t)
			st := openDynamoDBStore(t, client)()
			api := client()
			// "!" sorts before every key the store writes, so on the fake,
			// which scans in key order, the padding comes first.
			for i := range 30 {
				if _, err := api.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("nines-state"), Item: map[string]types.AttributeValue{
					"pk":   &types.AttributeValueMemberS{Value: fmt.Sprintf("!padding#%02d", i)},
					"kind": &types.AttributeValueMemberS{Value: "padding"},
					"pad":  &types.AttributeValueMemberS{Value: strings.Repeat("x", 100*1024)},
				}}); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 5 {
				subject := fmt.Sprintf("canary-%d", i)
				a := &Alert{Key: Key{Subject: subject, Severity: Page}, Status: Firing, FiredAt: t0.Add(time.Duration(i) * time.Minute)}
				if err := st.Save(ctx, a); err != nil {
					t.Fatal(err)
				}
				if err := st.RecordFailure(ctx, Failure{Canary: subject, Region: "eu-west-1", At: t0, Class: "timeout"}); err != nil {
					t.Fatal(err)
				}
			}
			first, err := api.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("nines-state")})
			if err != nil {
				t.Fatal(err)
			}
			if len(first.LastEvaluatedKey) == 0 {
				t.Fatalf("one Scan returned all %d items: the table does not page", first.Count)
			}
			alerts, err := st.Load(ctx)
			if err != nil || len(alerts) != 5 {
				t.Errorf("loaded %d alerts (%v), want 5", len(alerts), err)
			}
			failures, err := st.RecentFailures(ctx)
			if err != nil || len(failures) != 5 {
				t.Errorf("read %d failures (%v), want 5", len(failures), err)
			}
			incidents, err := st.Incidents(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
			if err != nil || len(incidents) != 5 {
				t.Errorf("read %d incidents (%v), want 5", len(incidents), err)
			}
		})
	}
}

// The alert state survives a restart: a new process opens a new store on
// the same table and carries on from the state, outbox included, with
// conditional writes still holding.
func TestDynamoDBAlertStateSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 18, 14, 2, 0, 0, time.UTC)
	for _, b := range dynamoDBBackends {
		t.Run(b.name, func(t *testing.T) {
			open := openDynamoDBStore(t, b.start(t))
			before := open()
			a := &Alert{
				Key: Key{Subject: "checkout", Severity: Page}, Status: Firing, FiredAt: t0, LastSent: t0, Seq: 1, Announced: true,
				Last:    Details{Tier: "page_fast"},
				Threads: map[string]string{"slack": "1700000000.100001"},
				Pending: []Pending{{Receivers: []string{"sns"}, Queued: t0}},
			}
			if err := before.Save(ctx, a); err != nil {
				t.Fatal(err)
			}

			after := open()
			got, err := after.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], *a) {
				t.Fatalf("after the restart loaded\n%+v\nwant\n%+v", got, *a)
			}
			resolved := got[0]
			resolved.Status, resolved.ResolvedAt, resolved.Pending = Resolved, t0.Add(time.Hour), nil
			if err := after.Save(ctx, &resolved); err != nil {
				t.Fatalf("resolving after the restart: %v", err)
			}
			// The process before the restart still holds version 1.
			stale := *a
			stale.Seq = 9
			if err := before.Save(ctx, &stale); err != ErrConflict {
				t.Errorf("a save from before the restart returned %v, want ErrConflict", err)
			}
			incidents, err := after.Incidents(ctx, t0.Add(-time.Hour), t0.Add(2*time.Hour))
			if err != nil || len(incidents) != 1 || !incidents[0].ResolvedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("incidents %+v (%v), want the one, resolved", incidents, err)
			}
		})
	}
}
