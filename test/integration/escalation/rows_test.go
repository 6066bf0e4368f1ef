package escalation

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// row is one attempt of the matrix.
type row struct {
	name string
	// try makes the attempt and returns the API's answer.
	try func(ctx context.Context) error
	// want is a regular expression the denial's message must match: it
	// names the reason. Where two admission webhooks can both deny, the
	// API server reports whichever answered first, so want lists both.
	want string
	// after, if set, checks that nothing changed despite the answer.
	after func(ctx context.Context) error
}

// run tries each row in turn as its own subtest.
func run(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			ctx := context.Background()
			expectDenied(t, r.try(ctx), r.want)
			if r.after != nil {
				if err := r.after(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// expectDenied asserts err is the API refusing the request (403, 422 or
// 400) with a message matching want.
func expectDenied(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("allowed; want a denial matching %q", want)
	}
	if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
		t.Fatalf("error %v is not a denial (want 403, 422 or 400 matching %q)", err, want)
	}
	if !regexp.MustCompile(want).MatchString(err.Error()) {
		t.Errorf("denial %q does not match %q", err.Error(), want)
	}
}

// rbacDenied is the API server's RBAC refusal of verb on resource.
func rbacDenied(user, verb, resource string) string {
	return regexp.QuoteMeta(fmt.Sprintf("User %q cannot %s resource %q", user, verb, resource))
}

// get reads ns/name as the platform team.
func get(ctx context.Context, obj client.Object, ns, name string) error {
	return fix.admin.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
}

// q quotes s for a regular expression.
func q(s string) string { return regexp.QuoteMeta(s) }

// either joins alternatives of a regular expression.
func either(alts ...string) string { return strings.Join(alts, "|") }
