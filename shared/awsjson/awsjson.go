// Package awsjson is a small client of the AWS JSON protocol that
// DynamoDB, Secrets Manager and Systems Manager speak: it signs a request
// with SigV4, sends it, retries what is worth retrying and decodes the
// answer or the service's error document. It exists so that Lambda
// functions need not link the SDK's service clients, whose package
// initialisation alone costs a cold start milliseconds.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Service names one AWS service as the protocol needs it.
type Service struct {
	// Name signs requests and names the host: "dynamodb".
	Name string
	// TargetPrefix precedes the operation in X-Amz-Target:
	// "DynamoDB_20120810".
	TargetPrefix string
	// JSONVersion is "1.0" or "1.1".
	JSONVersion string
}

// Options configure a Client.
type Options struct {
	// Region is the AWS region, such as eu-west-1.
	Region string
	// Credentials sign every request.
	Credentials aws.CredentialsProvider
	// Endpoint overrides https://<service>.<region>.amazonaws.com, for an
	// emulator or a VPC endpoint.
	Endpoint string
	// HTTPClient sends requests; nil means one with a 3 s timeout.
	HTTPClient *http.Client
	// MaxAttempts bounds tries of a retryable failure; 0 means 3.
	MaxAttempts int
	// Retryable names the service's error codes worth another try,
	// besides network faults and 5xx answers.
	Retryable map[string]bool
}

// Client sends one service's operations. It is safe for concurrent use.
type Client struct {
	svc    Service
	o      Options
	url    string
	signer *v4.Signer
}

// New returns a client. It makes no network call.
func New(svc Service, o Options) (*Client, error) {
	if o.Region == "" || o.Credentials == nil {
		return nil, errors.New("awsjson: a region and credentials are required")
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 3 * time.Second}
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	url := o.Endpoint
	if url == "" {
		url = "https://" + svc.Name + "." + o.Region + ".amazonaws.com"
		if strings.HasPrefix(o.Region, "cn-") {
			url += ".cn"
		}
	}
	return &Client{svc: svc, o: o, url: url, signer: v4.NewSigner()}, nil
}

// EnvOptions returns options as Lambda configures a function: AWS_REGION,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
func EnvOptions(endpoint string) (Options, error) {
	creds := aws.Credentials{
		AccessKeyID:     os.Getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("AWS_SESSION_TOKEN"),
		Source:          "environment",
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return Options{}, errors.New("awsjson: AWS credentials are not in the environment")
	}
	return Options{
		Region:      os.Getenv("AWS_REGION"),
		Credentials: StaticCredentials(creds),
		Endpoint:    endpoint,
	}, nil
}

// StaticCredentials provides fixed credentials.
type StaticCredentials aws.Credentials

// Retrieve returns the credentials.
func (c StaticCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(c), nil
}

// Error is an error the service answered.
type Error struct {
	Status  int
	Code    string // such as ConditionalCheckFailedException
	Message string
	// Reasons holds a cancelled DynamoDB transaction's per-item codes,
	// in the order of its items; "None" where an item was not at fault.
	Reasons []string
	// Retryable is set for the codes the client's options call
	// retryable, such as throttling.
	Retryable bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("aws: %s (%d): %s", e.Code, e.Status, e.Message)
}

// IsCode reports whether err is a service error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Unavailable reports whether err means the service cannot answer now:
// a network fault, a timeout, throttling or a server error.
func Unavailable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable || e.Status >= 500
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// Do sends operation op (such as "GetItem") with the request in and
// decodes the answer into out, which may be nil. Retryable failures are
// tried again with jittered backoff, up to MaxAttempts in all.
func (c *Client) Do(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode %s: %w", c.svc.Name, op, err)
	}
	for attempt := 1; ; attempt++ {
		err = c.send(ctx, op, body, out)
		var e *Error
		if errors.As(err, &e) {
			e.Retryable = c.o.Retryable[e.Code]
		}
		if err == nil || attempt >= c.o.MaxAttempts || !Unavailable(err) ||
			ctx.Err() != nil {
			return err
		}
		backoff := time.Duration(rand.Int64N(int64(25*time.Millisecond) << attempt))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}

func (c *Client) send(ctx context.Context, op string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.svc.Name, op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-"+c.svc.JSONVersion)
	req.Header.Set("X-Amz-Target", c.svc.TargetPrefix+"."+op)
	creds, err := c.o.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("%s: credentials: %w", c.svc.Name, err)
	}
	sum := sha256.Sum256(body)
	err = c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]),
		c.svc.Name, c.o.Region, time.Now())
	if err != nil {
		return fmt.Errorf("%s: sign %s: %w", c.svc.Name, op, err)
	}
	resp, err := c.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.svc.Name, op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: read %s: %w", c.svc.Name, op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode %s: %w", c.svc.Name, op, err)
	}
	return nil
}

// decodeError reads the service's error document. Its __type is
// "<namespace>#<Code>"; the message key is spelled two ways.
func decodeError(status int, data []byte) error {
	var doc struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
		Reasons  []struct {
			Code string `json:"Code"`
		} `json:"CancellationReasons"`
	}
	e := &Error{Status: status, Code: "HTTP" + fmt.Sprint(status)}
	if json.Unmarshal(data, &doc) == nil && doc.Type != "" {
		e.Code = doc.Type[strings.LastIndex(doc.Type, "#")+1:]
		e.Message = doc.Message + doc.MessageU
		for _, r := range doc.Reasons {
			e.Reasons = append(e.Reasons, r.Code)
		}
	} else {
		e.Message = strings.TrimSpace(string(data))
	}
	return e
}
