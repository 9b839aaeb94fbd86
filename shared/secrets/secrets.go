// Package secrets reads a secret string, such as the queue database's
// DSN, from AWS Secrets Manager or from a Systems Manager SecureString
// parameter, over package awsjson. Reads happen when asked, never at
// start-up, so a missing or wrong secret answers 503 instead of crashing
// a function, and a rotated secret is read again.
package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/tickiti/supervisor-api/shared/awsjson"
)

// Services as the protocol names them.
var (
	SecretsManager = awsjson.Service{Name: "secretsmanager",
		TargetPrefix: "secretsmanager", JSONVersion: "1.1"}
	SSM = awsjson.Service{Name: "ssm", TargetPrefix: "AmazonSSM", JSONVersion: "1.1"}
)

var retryable = map[string]bool{
	"ThrottlingException":     true,
	"InternalServiceError":    true,
	"InternalServerError":     true,
	"TooManyUpdates":          true,
	"ServiceUnavailable":      true,
	"RequestLimitExceeded":    true,
	"LimitExceededException":  true,
	"InternalFailure":         true,
	"ServiceUnavailableError": true,
}

// Fetch returns a string secret.
type Fetch func(ctx context.Context) (string, error)

// FromSecretsManager returns a Fetch of the secret id (a name or ARN).
func FromSecretsManager(o awsjson.Options, id string) (Fetch, error) {
	o.Retryable = retryable
	c, err := awsjson.New(SecretsManager, o)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (string, error) {
		var out struct{ SecretString string }
		err := c.Do(ctx, "GetSecretValue", map[string]string{"SecretId": id}, &out)
		if err != nil {
			return "", fmt.Errorf("get secret %s: %w", id, err)
		}
		return out.SecretString, nil
	}, nil
}

// FromParameter returns a Fetch of a Systems Manager parameter, decrypted.
func FromParameter(o awsjson.Options, name string) (Fetch, error) {
	o.Retryable = retryable
	c, err := awsjson.New(SSM, o)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (string, error) {
		var out struct{ Parameter struct{ Value string } }
		in := map[string]any{"Name": name, "WithDecryption": true}
		if err := c.Do(ctx, "GetParameter", in, &out); err != nil {
			return "", fmt.Errorf("get parameter %s: %w", name, err)
		}
		return out.Parameter.Value, nil
	}, nil
}

// rdsSecret is the JSON shape of an RDS-managed or rotated secret.
type rdsSecret struct {
	Engine   string `json:"engine"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
	DBName   string `json:"dbname"`
}

// DSN turns a secret into a queue DSN: either the secret is a DSN itself,
// or it is the JSON document RDS keeps for a rotated database secret
// (engine postgres, mysql or mariadb).
func DSN(secret string) (string, error) {
	var s rdsSecret
	if json.Unmarshal([]byte(secret), &s) != nil || s.Host == "" {
		return secret, nil
	}
	scheme := "postgres"
	switch s.Engine {
	case "postgres", "aurora-postgresql":
	case "mysql", "mariadb", "aurora-mysql", "aurora":
		scheme = "mysql"
	default:
		return "", fmt.Errorf("secret of engine %q: want postgres, mysql or mariadb", s.Engine)
	}
	u := url.URL{Scheme: scheme, User: url.UserPassword(s.Username, s.Password),
		Host: s.Host, Path: "/" + s.DBName}
	if s.Port != 0 {
		u.Host += ":" + strconv.Itoa(s.Port)
	}
	return u.String(), nil
}
