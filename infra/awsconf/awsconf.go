// Package awsconf builds AWS clients for programs that run outside Lambda
// (the operators' tool, the local stack) from the standard AWS
// configuration: environment, shared files, SSO, roles.
package awsconf

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/tickiti/supervisor-api/shared/ddb"
)

// DDBOptions returns the options of a DynamoDB client (package ddb) from
// the standard configuration: its region and its credentials, which are
// cached. A non-empty endpoint overrides the service address, such as the
// local stack's. Either the region or the credentials may be missing, and
// ddb.New then refuses the options; the caller may fill them in. It makes
// no network call.
func DDBOptions(ctx context.Context, endpoint string) (ddb.Options, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return ddb.Options{}, fmt.Errorf("load AWS config: %w", err)
	}
	return ddb.Options{Region: cfg.Region, Credentials: cfg.Credentials,
		Endpoint: endpoint}, nil
}

// DDB returns a DynamoDB client from the standard configuration; see
// DDBOptions. It fails when no region or no credentials are configured.
func DDB(ctx context.Context, endpoint string) (*ddb.Client, error) {
	o, err := DDBOptions(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return ddb.New(o)
}
