package awsfake

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestSSMParameters(t *testing.T) {
	ctx := context.Background()
	fake := NewSSMT(t, SSMConfig{})
	fake.SetParameter("/nines/slack/token", "SecureString", "xoxb-secret")
	client := fake.Client()

	if _, err := client.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/nines/config"), Value: aws.String("namespace: Nines"), Type: types.ParameterTypeString,
	}); err != nil {
		t.Fatalf("PutParameter: %v", err)
	}

	tests := []struct {
		name      string
		param     string
		decrypt   bool
		wantValue string
		wantErr   any
	}{
		{name: "A plain parameter reads back", param: "/nines/config", wantValue: "namespace: Nines"},
		{name: "A secure parameter decrypts on request", param: "/nines/slack/token", decrypt: true, wantValue: "xoxb-secret"},
		{name: "A secure parameter stays hidden without decryption", param: "/nines/slack/token"},
		{name: "A missing parameter is ParameterNotFound", param: "/nines/absent", wantErr: &types.ParameterNotFound{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tt.param), WithDecryption: aws.Bool(tt.decrypt)})
			if tt.wantErr != nil {
				if !errors.As(err, &tt.wantErr) {
					t.Fatalf("error = %v, want %T", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetParameter: %v", err)
			}
			got := aws.ToString(out.Parameter.Value)
			if tt.wantValue != "" && got != tt.wantValue {
				t.Errorf("value = %q, want %q", got, tt.wantValue)
			}
			if tt.wantValue == "" && strings.Contains(got, "xoxb") {
				t.Errorf("value %q leaks the secret", got)
			}
		})
	}

	_, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/nines/config"), Value: aws.String("x"), Type: types.ParameterTypeString})
	var exists *types.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("PutParameter without Overwrite: %v, want ParameterAlreadyExists", err)
	}
	out, err := client.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/nines/config"), Value: aws.String("x"), Overwrite: aws.Bool(true)})
	if err != nil {
		t.Fatalf("PutParameter with Overwrite: %v", err)
	}
	if out.Version != 2 {
		t.Errorf("Version = %d, want 2", out.Version)
	}
}
