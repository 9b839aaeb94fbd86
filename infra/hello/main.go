// Command hello is the reference for the cold-start budgets: the smallest
// Go Lambda function, built exactly as the real ones are.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
