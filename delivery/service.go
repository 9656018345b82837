package delivery

import (
	"context"
	"errors"
)

// service is a part of the engine with a life of its own, as River's
// startstop.Service: the engine starts its services from one list (Engine.services) in
// order and stops them in reverse, so that each stops after the parts that feed it. A
// service owns its state; the others use it through its methods only.
type service interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
}

// startAll starts services in order; should one fail, those already started are
// stopped again.
func startAll(ctx context.Context, services []service) error {
	for i, s := range services {
		if err := s.start(ctx); err != nil {
			return errors.Join(err, stopAll(context.WithoutCancel(ctx), services[:i]))
		}
	}
	return nil
}

// stopAll stops services in reverse order.
func stopAll(ctx context.Context, services []service) error {
	var errs []error
	for i := len(services) - 1; i >= 0; i-- {
		errs = append(errs, services[i].stop(ctx))
	}
	return errors.Join(errs...)
}
