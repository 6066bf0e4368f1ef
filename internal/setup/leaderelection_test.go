package setup

import (
	"flag"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
)

func TestLeaseFlags(t *testing.T) {
	o := DefaultOptions()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	o.BindFlags(fs)
	if err := fs.Parse([]string{"--leader-election-lease-duration=30s", "--leader-election-identity=pod-0"}); err != nil {
		t.Fatal(err)
	}
	want := LeaseOptions{Duration: 30 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, Identity: "pod-0"}
	if o.Lease != want {
		t.Errorf("Lease = %+v, want %+v", o.Lease, want)
	}
}

func TestApplyLease(t *testing.T) {
	cfg := &rest.Config{Host: "https://127.0.0.1:6443"}
	mo := ctrl.Options{LeaderElection: true, LeaderElectionNamespace: "canopy-system", LeaderElectionID: "lease"}
	if err := DefaultLeaseOptions().applyLease(cfg, &mo); err != nil {
		t.Fatal(err)
	}
	if *mo.LeaseDuration != 15*time.Second || *mo.RenewDeadline != 10*time.Second || *mo.RetryPeriod != 2*time.Second {
		t.Errorf("timing = %v/%v/%v, want 15s/10s/2s", *mo.LeaseDuration, *mo.RenewDeadline, *mo.RetryPeriod)
	}
	if mo.LeaderElectionResourceLockInterface != nil {
		t.Error("without an identity controller-runtime builds the lock")
	}
	o := DefaultLeaseOptions()
	o.Identity = "pod-0"
	if err := o.applyLease(cfg, &mo); err != nil {
		t.Fatal(err)
	}
	lock := mo.LeaderElectionResourceLockInterface
	if lock == nil || lock.Identity() != "pod-0" || lock.Describe() != "canopy-system/lease" {
		t.Errorf("lock = %v, want canopy-system/lease held as pod-0", lock)
	}
	// Zero values leave controller-runtime's defaults.
	var empty ctrl.Options
	if err := (LeaseOptions{}).applyLease(cfg, &empty); err != nil || empty.LeaseDuration != nil || empty.LeaderElectionResourceLockInterface != nil {
		t.Errorf("zero LeaseOptions changed the options: %+v, %v", empty, err)
	}
}
