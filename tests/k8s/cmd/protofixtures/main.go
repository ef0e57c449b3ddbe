// Command protofixtures writes Events encoded by apimachinery's own protobuf serializer (the
// `k8s\0` envelope around a runtime.Unknown, as client-go's typed clients send them) into a
// directory, so kevents' protobuf decoder is tested against the real encoder.
//
//	cd tests/k8s && GOTOOLCHAIN=local GOFLAGS=-mod=mod go build ./cmd/protofixtures
//	./protofixtures -out ../../crates/kevents-model/testdata/proto
//
// Each fixture NAME.pb is written beside NAME.json, the object as Go's JSON encoder renders it,
// which is what kevents must decode the protobuf into.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

func main() {
	out := flag.String("out", "testdata", "directory the fixtures are written to")
	flag.Parse()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, eventsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			fail(err)
		}
	}
	codecs := serializer.NewCodecFactory(scheme)
	proto := protobuf.NewSerializer(scheme, scheme)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	for _, f := range fixtures() {
		encoder := codecs.EncoderForVersion(proto, f.version)
		var body bytes.Buffer
		if err := encoder.Encode(f.object, &body); err != nil {
			fail(fmt.Errorf("%s: %w", f.name, err))
		}
		text, err := json.MarshalIndent(f.object, "", "  ")
		if err != nil {
			fail(fmt.Errorf("%s: %w", f.name, err))
		}
		write(filepath.Join(*out, f.name+".pb"), body.Bytes())
		write(filepath.Join(*out, f.name+".json"), append(text, '\n'))
	}
}

type fixture struct {
	name    string
	version schema.GroupVersion
	object  runtime.Object
}

func fixtures() []fixture {
	observed := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	first := metav1.NewTime(time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC))
	last := metav1.NewTime(time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC))
	pod := corev1.ObjectReference{
		Kind:            "Pod",
		Namespace:       "default",
		Name:            "web-0",
		UID:             "6f1c1b9e-0d7a-4c1e-9a55-2b8f0c9d7e11",
		APIVersion:      "v1",
		ResourceVersion: "4242",
		FieldPath:       "spec.containers{web}",
	}
	node := corev1.ObjectReference{Kind: "Node", Name: "node-1", APIVersion: "v1"}
	// What tools/events' recorder creates: a first occurrence, no series.
	recorded := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "web-0.182c9f1e2d3a4b5c",
			Namespace: "default",
		},
		EventTime:           metav1.NewMicroTime(observed),
		ReportingController: "default-scheduler",
		ReportingInstance:   "default-scheduler-node-1",
		Action:              "Binding",
		Reason:              "Scheduled",
		Regarding:           pod,
		Related:             &node,
		Note:                "Successfully assigned default/web-0 to node-1",
		Type:                corev1.EventTypeNormal,
	}
	// The same event once it repeats: the recorder updates it with a series.
	series := recorded.DeepCopy()
	series.Labels = map[string]string{"app": "web", "tier": "frontend"}
	series.Annotations = map[string]string{"kevents.dev/note": "ünïcode ✓"}
	series.Series = &eventsv1.EventSeries{
		Count:            3,
		LastObservedTime: metav1.NewMicroTime(observed.Add(90 * time.Second)),
	}
	// An event written by a client that also fills the deprecated core/v1 fields.
	deprecated := recorded.DeepCopy()
	deprecated.Name = "web-0.182c9f1e2d3a4b5f"
	deprecated.DeprecatedSource = corev1.EventSource{Component: "default-scheduler", Host: "node-1"}
	deprecated.DeprecatedFirstTimestamp = first
	deprecated.DeprecatedLastTimestamp = last
	deprecated.DeprecatedCount = 3
	// A core/v1 event as tools/record writes it.
	core := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "web-0.182c9f1e2d3a4b5d",
			Namespace:   "default",
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"a": "1", "b": ""},
		},
		InvolvedObject:      pod,
		Reason:              "BackOff",
		Message:             "Back-off restarting failed container web in pod web-0_default",
		Source:              corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp:      first,
		LastTimestamp:       last,
		Count:               7,
		Type:                corev1.EventTypeWarning,
		ReportingController: "kubelet",
		ReportingInstance:   "node-1",
	}
	// Every ObjectMeta field the decoder reads, and a core/v1 event with a series.
	controller := true
	grace := int64(30)
	metadata := core.DeepCopy()
	metadata.Name = "web-0.182c9f1e2d3a4b5e"
	metadata.GenerateName = "web-0."
	metadata.UID = "0b7e4a1c-5d2f-4e8a-9c3b-7f6d5e4c3b2a"
	metadata.ResourceVersion = "17"
	metadata.Generation = 2
	metadata.CreationTimestamp = first
	metadata.DeletionGracePeriodSeconds = &grace
	metadata.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web",
		UID: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", Controller: &controller,
	}}
	metadata.Finalizers = []string{"kevents.dev/keep", "kevents.dev/audit"}
	metadata.ManagedFields = []metav1.ManagedFieldsEntry{{
		Manager: "kubelet", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		Time: &last, FieldsType: "FieldsV1",
		FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:count":{},"f:message":{}}`)},
	}}
	metadata.EventTime = metav1.NewMicroTime(observed)
	metadata.Series = &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(observed.Add(time.Minute))}
	metadata.Action = "Restarting"
	metadata.Related = &node
	// Not an Event: a body the events endpoints must refuse by its typeMeta.
	wrongKind := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default"}}
	return []fixture{
		{"events-v1-recorded", eventsv1.SchemeGroupVersion, recorded},
		{"events-v1-series", eventsv1.SchemeGroupVersion, series},
		{"events-v1-deprecated", eventsv1.SchemeGroupVersion, deprecated},
		{"core-v1-recorded", corev1.SchemeGroupVersion, core},
		{"core-v1-metadata", corev1.SchemeGroupVersion, metadata},
		{"core-v1-pod", corev1.SchemeGroupVersion, wrongKind},
	}
}

func write(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "protofixtures:", err)
	os.Exit(1)
}
