package motoserver

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// BusArchive creates the event bus and an archive of the events on it that
// match pattern, whose EventCount a test then reads with DescribeArchive.
// Either may exist already: on a busy machine the SDK repeats a request
// whose answer it could not read, and the repeat meets what its first try
// created.
func BusArchive(tb testing.TB, client *eventbridge.Client, bus, archive, pattern string) {
	tb.Helper()
	ctx := context.Background()
	_, err := client.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)})
	if err := exists(err); err != nil {
		tb.Fatalf("create event bus %s: %v", bus, err)
	}
	b, err := client.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
	if err != nil {
		tb.Fatalf("describe event bus %s: %v", bus, err)
	}
	_, err = client.CreateArchive(ctx, &eventbridge.CreateArchiveInput{
		ArchiveName: aws.String(archive), EventSourceArn: b.Arn, EventPattern: aws.String(pattern),
	})
	if err := exists(err); err != nil {
		tb.Fatalf("create archive %s: %v", archive, err)
	}
}

// exists forgives a creation that found its resource already there.
func exists(err error) error {
	if _, ok := errors.AsType[*types.ResourceAlreadyExistsException](err); ok {
		return nil
	}
	return err
}
