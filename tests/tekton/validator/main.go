// Command tekton-validate checks Tekton objects with Tekton's own validation code.
//
// It reads YAML files (several documents each, or kind: List), decodes every Tekton object strictly into
// the Go types of github.com/tektoncd/pipeline (tekton.dev/v1: Task, Pipeline, PipelineRun, TaskRun) and
// github.com/tektoncd/triggers (triggers.tekton.dev/v1beta1: TriggerTemplate, TriggerBinding,
// EventListener, Trigger), and calls their SetDefaults and Validate methods - what Tekton's admission
// webhook runs on a cluster. Two things the webhook does not do are done here, because the reconcilers
// would only find them at run time:
//
//   - a TriggerTemplate's resource templates are validated too, with every $(tt.params.x) replaced by the
//     param's default (or a placeholder);
//   - references between the objects given: a pipeline task's taskRef (by name) must name a given Task,
//     pass every param the Task requires, bind every workspace it does not mark optional, and a
//     $(tasks.t.results.r) reference must name a result task t declares; a PipelineRun's pipelineRef
//     must name a given Pipeline whose required params and workspaces it provides.
//
// Tasks referenced through a resolver (cluster, git, hub, bundles) are checked for shape only.
//
// Output: one line per object, "ok <file> <Kind>/<name>" or "invalid <file> <Kind>/<name>: <message>"
// (with -json, one JSON object per line). Exit status 0 when everything is valid, 1 when anything is
// not, 2 on a usage or read error. Objects of other kinds are reported as "skipped".
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	triggerscontexts "github.com/tektoncd/triggers/pkg/apis/triggers/contexts"
	triggersv1beta1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

// placeholderName stands in for metadata.name where an object has only generateName: the API server
// fills the name in before admission, Tekton's metadata check expects one.
const placeholderName = "placeholder-generated-name"

type validatable interface {
	SetDefaults(ctx context.Context)
	Validate(ctx context.Context) *apis.FieldError
}

type result struct {
	File    string `json:"file"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// decoded is one object and where it came from.
type decoded struct {
	file string
	kind string
	name string
	obj  interface{}
}

func main() {
	asJSON := flag.Bool("json", false, "print one JSON object per line")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [-json] FILE.yaml... (- reads standard input)\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var results []result
	var objects []decoded
	for _, path := range flag.Args() {
		docs, err := readDocuments(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "tekton-validate: %s: %v\n", path, err)
			os.Exit(2)
		}
		for _, doc := range docs {
			res, objs := check(path, doc)
			results = append(results, res...)
			objects = append(objects, objs...)
		}
	}
	results = append(results, crossCheck(objects)...)
	invalid := 0
	for _, res := range results {
		if res.Status == "invalid" {
			invalid++
		}
		if *asJSON {
			line, _ := json.Marshal(res)
			fmt.Println(string(line))
			continue
		}
		if res.Message != "" {
			fmt.Printf("%s %s %s/%s: %s\n", res.Status, res.File, res.Kind, res.Name, res.Message)
		} else {
			fmt.Printf("%s %s %s/%s\n", res.Status, res.File, res.Kind, res.Name)
		}
	}
	if invalid > 0 {
		os.Exit(1)
	}
}

// readDocuments splits a YAML stream into its documents, unwrapping kind: List.
func readDocuments(path string) ([][]byte, error) {
	var in io.Reader
	if path == "-" {
		in = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var h header
		if err := yaml.Unmarshal(doc, &h); err != nil {
			return nil, err
		}
		if h.Kind == "" && h.APIVersion == "" {
			continue // a document of comments only
		}
		if h.Kind == "List" {
			for _, item := range h.Items {
				docs = append(docs, []byte(item))
			}
			continue
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// newObject gives the Go type for an apiVersion and kind, nil for kinds this tool does not validate.
func newObject(apiVersion, kind string) validatable {
	switch apiVersion + "/" + kind {
	case "tekton.dev/v1/Task":
		return &pipelinev1.Task{}
	case "tekton.dev/v1/Pipeline":
		return &pipelinev1.Pipeline{}
	case "tekton.dev/v1/PipelineRun":
		return &pipelinev1.PipelineRun{}
	case "tekton.dev/v1/TaskRun":
		return &pipelinev1.TaskRun{}
	case "triggers.tekton.dev/v1beta1/TriggerTemplate":
		return &triggersv1beta1.TriggerTemplate{}
	case "triggers.tekton.dev/v1beta1/TriggerBinding":
		return &triggersv1beta1.TriggerBinding{}
	case "triggers.tekton.dev/v1beta1/EventListener":
		return &triggersv1beta1.EventListener{}
	case "triggers.tekton.dev/v1beta1/Trigger":
		return &triggersv1beta1.Trigger{}
	}
	return nil
}

func check(file string, doc []byte) ([]result, []decoded) {
	var h header
	if err := yaml.Unmarshal(doc, &h); err != nil {
		return []result{{File: file, Kind: "?", Name: "?", Status: "invalid", Message: err.Error()}}, nil
	}
	name := h.Metadata.Name
	if name == "" {
		name = h.Metadata.GenerateName
	}
	obj := newObject(h.APIVersion, h.Kind)
	if obj == nil {
		return []result{{File: file, Kind: h.Kind, Name: name, Status: "skipped",
			Message: "not a Tekton kind this tool validates (" + h.APIVersion + ")"}}, nil
	}
	res := result{File: file, Kind: h.Kind, Name: name, Status: "ok"}
	if err := validate(doc, obj); err != nil {
		res.Status, res.Message = "invalid", err.Error()
		return []result{res}, nil
	}
	out := []result{res}
	objects := []decoded{{file: file, kind: h.Kind, name: name, obj: obj}}
	if template, ok := obj.(*triggersv1beta1.TriggerTemplate); ok {
		for index, rendered := range renderTemplate(template) {
			var th header
			_ = yaml.Unmarshal(rendered, &th)
			inner := newObject(th.APIVersion, th.Kind)
			innerName := fmt.Sprintf("%s.spec.resourcetemplates[%d]", name, index)
			if inner == nil {
				out = append(out, result{File: file, Kind: th.Kind, Name: innerName, Status: "skipped",
					Message: "not a Tekton kind this tool validates (" + th.APIVersion + ")"})
				continue
			}
			innerRes := result{File: file, Kind: th.Kind, Name: innerName, Status: "ok"}
			if err := validate(rendered, inner); err != nil {
				innerRes.Status, innerRes.Message = "invalid", err.Error()
			} else {
				objects = append(objects, decoded{file: file, kind: th.Kind, name: innerName, obj: inner})
			}
			out = append(out, innerRes)
		}
	}
	return out, objects
}

// validate decodes strictly (an unknown field is an error, as the API server's strict field validation
// would make it), fills in a placeholder name for generateName, then runs Tekton's defaulting and validation.
func validate(doc []byte, obj validatable) error {
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return err
	}
	if accessor, ok := obj.(interface {
		GetName() string
		GetGenerateName() string
		SetName(string)
	}); ok && accessor.GetName() == "" && accessor.GetGenerateName() != "" {
		accessor.SetName(placeholderName)
	}
	ctx := triggerscontexts.WithUpgradeViaDefaulting(context.Background())
	obj.SetDefaults(ctx)
	if ferr := obj.Validate(ctx); ferr != nil {
		return errors.New(strings.Join(strings.Split(ferr.Error(), "\n"), "; "))
	}
	return nil
}

var ttParam = regexp.MustCompile(`\$\(tt\.params\.([A-Za-z0-9_.-]+)\)`)

// renderTemplate gives each resource template with its $(tt.params.x) replaced by the param's default,
// or by a placeholder for a param without one (what an event would put there).
func renderTemplate(template *triggersv1beta1.TriggerTemplate) [][]byte {
	defaults := map[string]string{}
	for _, param := range template.Spec.Params {
		value := "placeholder-" + strings.ToLower(strings.ReplaceAll(param.Name, "_", "-"))
		if param.Default != nil {
			value = *param.Default
		}
		defaults[param.Name] = value
	}
	var rendered [][]byte
	for _, rt := range template.Spec.ResourceTemplates {
		raw := ttParam.ReplaceAllFunc(rt.Raw, func(match []byte) []byte {
			name := ttParam.FindSubmatch(match)[1]
			value, ok := defaults[string(name)]
			if !ok {
				return match // an undeclared param: the template's own validation reports it
			}
			quoted, _ := json.Marshal(value)
			return quoted[1 : len(quoted)-1]
		})
		rendered = append(rendered, raw)
	}
	return rendered
}

var resultRef = regexp.MustCompile(`\$\(tasks\.([a-z0-9-]+)\.results\.([A-Za-z0-9_.-]+)\)`)

// crossCheck checks the references between the given objects that only the reconcilers would check.
func crossCheck(objects []decoded) []result {
	tasks := map[string]*pipelinev1.Task{}
	pipelines := map[string]*pipelinev1.Pipeline{}
	for _, o := range objects {
		switch typed := o.obj.(type) {
		case *pipelinev1.Task:
			tasks[typed.Name] = typed
		case *pipelinev1.Pipeline:
			pipelines[typed.Name] = typed
		}
	}
	var out []result
	for _, o := range objects {
		var problems []string
		switch typed := o.obj.(type) {
		case *pipelinev1.Pipeline:
			problems = checkPipeline(typed, tasks)
		case *pipelinev1.PipelineRun:
			problems = checkPipelineRun(typed, pipelines)
		default:
			continue
		}
		status, message := "ok", ""
		if len(problems) > 0 {
			status, message = "invalid", strings.Join(problems, "; ")
		}
		out = append(out, result{File: o.file, Kind: o.kind, Name: o.name + " (references)", Status: status,
			Message: message})
	}
	return out
}

func checkPipeline(pipeline *pipelinev1.Pipeline, tasks map[string]*pipelinev1.Task) []string {
	var problems []string
	all := append(append([]pipelinev1.PipelineTask{}, pipeline.Spec.Tasks...), pipeline.Spec.Finally...)
	declared := map[string]*pipelinev1.TaskSpec{}
	for i := range all {
		pt := all[i]
		spec := taskSpecOf(pt, tasks)
		if pt.TaskRef != nil && pt.TaskRef.Resolver == "" && pt.TaskRef.Name != "" && spec == nil {
			problems = append(problems, fmt.Sprintf("pipeline task %s: Task %q is not among the objects given",
				pt.Name, pt.TaskRef.Name))
			continue
		}
		if spec == nil {
			continue // a resolver reference: shape only
		}
		declared[pt.Name] = spec
		given := map[string]bool{}
		for _, p := range pt.Params {
			given[p.Name] = true
		}
		for _, p := range spec.Params {
			if p.Default == nil && !given[p.Name] {
				problems = append(problems, fmt.Sprintf("pipeline task %s: missing param %q that Task %s requires",
					pt.Name, p.Name, refName(pt)))
			}
		}
		known := map[string]bool{}
		for _, p := range spec.Params {
			known[p.Name] = true
		}
		var unknown []string
		for _, p := range pt.Params {
			if !known[p.Name] {
				unknown = append(unknown, p.Name)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			problems = append(problems, fmt.Sprintf("pipeline task %s: Task %s declares no param %s",
				pt.Name, refName(pt), strings.Join(unknown, ", ")))
		}
		bound := map[string]bool{}
		for _, w := range pt.Workspaces {
			bound[w.Name] = true
		}
		for _, w := range spec.Workspaces {
			if !w.Optional && !bound[w.Name] {
				problems = append(problems, fmt.Sprintf("pipeline task %s: workspace %q of Task %s is not bound",
					pt.Name, w.Name, refName(pt)))
			}
		}
	}
	for i := range all {
		pt := all[i]
		text, _ := json.Marshal(struct {
			Params interface{} `json:"params"`
			When   interface{} `json:"when"`
		}{pt.Params, pt.When})
		for _, m := range resultRef.FindAllStringSubmatch(string(text), -1) {
			spec, ok := declared[m[1]]
			if !ok {
				continue // a resolver task (or one Tekton's validation already reported)
			}
			found := false
			for _, r := range spec.Results {
				if r.Name == m[2] {
					found = true
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("pipeline task %s: task %s declares no result %q",
					pt.Name, m[1], m[2]))
			}
		}
	}
	return problems
}

func checkPipelineRun(run *pipelinev1.PipelineRun, pipelines map[string]*pipelinev1.Pipeline) []string {
	var spec *pipelinev1.PipelineSpec
	switch {
	case run.Spec.PipelineSpec != nil:
		spec = run.Spec.PipelineSpec
	case run.Spec.PipelineRef != nil && run.Spec.PipelineRef.Resolver == "":
		pipeline, ok := pipelines[run.Spec.PipelineRef.Name]
		if !ok {
			return []string{fmt.Sprintf("Pipeline %q is not among the objects given", run.Spec.PipelineRef.Name)}
		}
		spec = &pipeline.Spec
	default:
		return nil
	}
	var problems []string
	given := map[string]bool{}
	for _, p := range run.Spec.Params {
		given[p.Name] = true
	}
	for _, p := range spec.Params {
		if p.Default == nil && !given[p.Name] {
			problems = append(problems, fmt.Sprintf("missing param %q that the Pipeline requires", p.Name))
		}
	}
	bound := map[string]bool{}
	for _, w := range run.Spec.Workspaces {
		bound[w.Name] = true
	}
	for _, w := range spec.Workspaces {
		if !w.Optional && !bound[w.Name] {
			problems = append(problems, fmt.Sprintf("workspace %q of the Pipeline is not bound", w.Name))
		}
	}
	return problems
}

func taskSpecOf(pt pipelinev1.PipelineTask, tasks map[string]*pipelinev1.Task) *pipelinev1.TaskSpec {
	if pt.TaskSpec != nil {
		return &pt.TaskSpec.TaskSpec
	}
	if pt.TaskRef != nil && pt.TaskRef.Resolver == "" {
		if task, ok := tasks[pt.TaskRef.Name]; ok {
			return &task.Spec
		}
	}
	return nil
}

func refName(pt pipelinev1.PipelineTask) string {
	if pt.TaskRef != nil && pt.TaskRef.Name != "" {
		return pt.TaskRef.Name
	}
	return "(inline)"
}
