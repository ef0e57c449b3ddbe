// Command recorder emits Kubernetes Events through client-go's own recorders, the way every
// controller and the kubelet do, against any Kubernetes API server (a real kube-apiserver or a
// kevents hub), so the tests can compare what each stores.
//
// Two recorders are available:
//   - core: k8s.io/client-go/tools/record (core/v1 Events; its correlator creates, PATCHes
//     counts of repeated events and aggregates similar ones);
//   - events: k8s.io/client-go/tools/events (events.k8s.io/v1 Events with series).
//
// Every write the server acknowledged is appended to -acks as one JSON line (operation, name,
// count or series count, resourceVersion), so a test can check that nothing the recorder was
// told was stored is missing. The program ends when the sink has been quiet for -quiet.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

type options struct {
	server, token, caFile, kubeconfig string
	namespace, api, acks              string
	pods, repeat, similar, rounds     int
	pause, quiet, retry, timeout      time.Duration
}

func main() {
	var o options
	klog.InitFlags(nil)
	flag.StringVar(&o.server, "server", "", "API server URL (or use -kubeconfig)")
	flag.StringVar(&o.token, "token", "", "bearer token")
	flag.StringVar(&o.caFile, "ca-file", "", "CA bundle for an https server")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (its current context)")
	flag.StringVar(&o.namespace, "namespace", "default", "namespace of the objects the events are about")
	flag.StringVar(&o.api, "api", "core", "recorder: core (tools/record, core/v1) or events (tools/events, events.k8s.io/v1)")
	flag.StringVar(&o.acks, "acks", "", "file to append one JSON line per acknowledged write")
	flag.IntVar(&o.pods, "pods", 5, "pods that each get a Scheduled event")
	flag.IntVar(&o.repeat, "repeat", 8, "times the same BackOff event is recorded for pod-0")
	flag.IntVar(&o.similar, "similar", 12, "FailedMount events for pod-1 that differ only in their message")
	flag.IntVar(&o.rounds, "rounds", 1, "times the whole set is emitted")
	flag.DurationVar(&o.pause, "pause", 20*time.Millisecond, "pause between two emitted events")
	flag.DurationVar(&o.quiet, "quiet", 3*time.Second, "end once the sink has been quiet this long")
	flag.DurationVar(&o.retry, "retry", time.Second, "the recorder's sleep between two attempts of a failed write")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "recorder:", err)
		os.Exit(1)
	}
}

func restConfig(o options) (*rest.Config, error) {
	if o.kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	}
	if o.server == "" {
		return nil, fmt.Errorf("-server or -kubeconfig is required")
	}
	config := &rest.Config{Host: o.server, BearerToken: o.token, QPS: 1000, Burst: 1000}
	config.TLSClientConfig.CAFile = o.caFile
	return config, nil
}

// acks records acknowledged writes and when the last one happened.
type acks struct {
	mu   sync.Mutex
	out  *os.File
	last time.Time
}

func (a *acks) record(op, namespace, name string, count int32, resourceVersion string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last = time.Now()
	if err != nil || a.out == nil {
		return
	}
	line, _ := json.Marshal(map[string]any{
		"op": op, "namespace": namespace, "name": name, "count": count, "resourceVersion": resourceVersion,
	})
	a.out.Write(append(line, '\n'))
}

func (a *acks) quietFor() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Since(a.last)
}

// coreSink is client-go's own core/v1 sink, with every acknowledged write recorded.
type coreSink struct {
	inner record.EventSink
	acks  *acks
}

func (s coreSink) Create(e *corev1.Event) (*corev1.Event, error) {
	out, err := s.inner.Create(e)
	s.note("create", out, err)
	return out, err
}

func (s coreSink) Update(e *corev1.Event) (*corev1.Event, error) {
	out, err := s.inner.Update(e)
	s.note("update", out, err)
	return out, err
}

func (s coreSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	out, err := s.inner.Patch(e, data)
	s.note("patch", out, err)
	return out, err
}

func (s coreSink) note(op string, e *corev1.Event, err error) {
	if e == nil {
		e = &corev1.Event{}
	}
	s.acks.record(op, e.Namespace, e.Name, e.Count, e.ResourceVersion, err)
}

// seriesSink is client-go's own events.k8s.io/v1 sink, with every acknowledged write recorded.
type seriesSink struct {
	inner events.EventSink
	acks  *acks
}

func (s seriesSink) Create(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	out, err := s.inner.Create(ctx, e)
	s.note("create", out, err)
	return out, err
}

func (s seriesSink) Update(ctx context.Context, e *eventsv1.Event) (*eventsv1.Event, error) {
	out, err := s.inner.Update(ctx, e)
	s.note("update", out, err)
	return out, err
}

func (s seriesSink) Patch(ctx context.Context, e *eventsv1.Event, data []byte) (*eventsv1.Event, error) {
	out, err := s.inner.Patch(ctx, e, data)
	s.note("patch", out, err)
	return out, err
}

func (s seriesSink) note(op string, e *eventsv1.Event, err error) {
	if e == nil {
		e = &eventsv1.Event{}
	}
	count := int32(1)
	if e.Series != nil {
		count = e.Series.Count
	}
	s.acks.record(op, e.Namespace, e.Name, count, e.ResourceVersion, err)
}

func pod(namespace string, i int) *corev1.Pod {
	name := fmt.Sprintf("pod-%d", i)
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, UID: types.UID("uid-" + namespace + "-" + name)},
	}
}

func run(o options) error {
	config, err := restConfig(o)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	ack := &acks{last: time.Now()}
	if o.acks != "" {
		ack.out, err = os.OpenFile(o.acks, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer ack.out.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	// emit records one event: type, reason, message about a pod.
	var emit func(p *corev1.Pod, eventType, reason, message string)
	switch o.api {
	case "core":
		broadcaster := record.NewBroadcaster(record.WithSleepDuration(o.retry), record.WithContext(ctx))
		defer broadcaster.Shutdown()
		inner := &typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")}
		broadcaster.StartRecordingToSink(coreSink{inner: inner, acks: ack})
		recorder := broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kevents-recorder", Host: "node-1"})
		emit = func(p *corev1.Pod, eventType, reason, message string) {
			recorder.Event(p, eventType, reason, message)
		}
	case "events":
		broadcaster := events.NewBroadcaster(seriesSink{inner: &events.EventSinkImpl{Interface: client.EventsV1()}, acks: ack})
		defer broadcaster.Shutdown()
		if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
			return err
		}
		recorder := broadcaster.NewRecorder(scheme.Scheme, "kevents-recorder")
		emit = func(p *corev1.Pod, eventType, reason, message string) {
			recorder.Eventf(p, nil, eventType, reason, "Testing", "%s", message)
		}
	default:
		return fmt.Errorf("-api must be core or events, not %q", o.api)
	}

	for round := 0; round < o.rounds; round++ {
		for i := 0; i < o.pods; i++ {
			emit(pod(o.namespace, i), corev1.EventTypeNormal, "Scheduled",
				fmt.Sprintf("Successfully assigned %s/pod-%d to node-1", o.namespace, i))
			time.Sleep(o.pause)
		}
		for i := 0; i < o.repeat; i++ {
			emit(pod(o.namespace, 0), corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container app in pod pod-0")
			time.Sleep(o.pause)
		}
		for i := 0; i < o.similar; i++ {
			emit(pod(o.namespace, 1), corev1.EventTypeWarning, "FailedMount",
				fmt.Sprintf("MountVolume.SetUp failed for volume \"config-%d\" : configmap \"config-%d\" not found", i, i))
			time.Sleep(o.pause)
		}
	}
	for ack.quietFor() < o.quiet {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the sink did not go quiet within %s", o.timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
