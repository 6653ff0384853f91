// Package awsfake holds wire-level fakes of the AWS services nines talks to,
// for tests only. Each fake is an httptest server that the real
// aws-sdk-go-v2 client reaches over real HTTP through BaseEndpoint and static
// credentials, so a test exercises the same serialisation, retries and error
// handling as production.
//
// The CloudWatch fake speaks Smithy RPCv2 CBOR. It stores what the GENERATE
// and AGGREGATE phases publish with PutMetricData, computes statistics and
// metric math for the PROCESS phase's GetMetricData the way CloudWatch
// documents them, keeps the ANALYZE phase's dashboards and alarms, and lets a
// test count calls and inject throttling, 5xx answers, hangs and outages.
// Its clock is injected, so the two-weeks-back and two-hours-ahead timestamp
// limits follow a fake clock.
//
// The SNS fake speaks the query protocol that the ALARM phase publishes
// with; the DynamoDB, S3 and SSM fakes serve the state, spool and
// configuration that the other phases keep in AWS.
package awsfake
