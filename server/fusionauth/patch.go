package fusionauth

import (
	"encoding/json"
	"mime"
)

// Content types that select a PATCH semantics.
const (
	contentJSON      = "application/json"
	contentMerge     = "application/merge-patch+json"
	contentJSONPatch = "application/json-patch+json"
)

// jsonPatchWork is how many units of work (a value walked, copied or compared, an array
// element shifted) a JSON patch may take per byte of the patch and the document: a
// megabyte allows some 16 million, tens of milliseconds.
const jsonPatchWork = 16

// applyPatch applies a PATCH body of the given content type to the stored webhook's
// request document and returns the patched document.
func applyPatch(contentType string, current, body []byte) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mt, err = contentJSON, nil
	}
	if err != nil {
		return nil, generalError("invalid", "The Content-Type header is malformed.")
	}
	switch mt {
	case contentJSON:
		var patch, doc map[string]any
		if err := decodeJSON(body, &patch); err != nil {
			return nil, err
		}
		if err := decodeJSON(current, &doc); err != nil {
			return nil, err
		}
		return json.Marshal(mergeAppend(doc, patch))
	case contentMerge:
		var patch, doc any
		if err := decodeJSON(body, &patch); err != nil {
			return nil, err
		}
		if _, object := patch.(map[string]any); !object && patch != nil {
			return nil, decodeJSON(body, &map[string]any{}) // the error an object's decoding gives
		}
		if err := decodeJSON(current, &doc); err != nil {
			return nil, err
		}
		return json.Marshal(mergePatch(doc, patch))
	case contentJSONPatch:
		var ops []any
		if err := decodeJSON(body, &ops); err != nil {
			return nil, err
		}
		var doc any
		if err := decodeJSON(current, &doc); err != nil {
			return nil, err
		}
		out, err := applyJSONPatch(doc, ops, jsonPatchWork*(len(body)+len(current)))
		if err != nil {
			return nil, generalError("invalid", "The JSON patch cannot be applied: "+err.Error()+".")
		}
		return json.Marshal(out)
	}
	return nil, generalError("invalid", "PATCH takes a body of type application/json, application/merge-patch+json or application/json-patch+json.")
}

// mergePatch applies an RFC 7396 merge patch to doc, in time linear in the two: each
// member of the patch is one map operation. (The json-patch library's MergePatch keeps
// the document's key order in a slice and searches it for every member, quadratic in the
// number of keys: a 50,000-key patch took seconds of CPU.) The recursion goes as deep as
// the patch, which decodeJSON has bounded.
func mergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = make(map[string]any, len(p))
	}
	for k, v := range p {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = mergePatch(d[k], v)
		}
	}
	return d
}

// mergeAppend is FusionAuth's original PATCH merge: objects merge recursively, null
// removes a value, arrays are appended to the existing array, anything else replaces.
func mergeAppend(doc, patch map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	for k, pv := range patch {
		switch pv := pv.(type) {
		case nil:
			delete(doc, k)
		case map[string]any:
			if dv, ok := doc[k].(map[string]any); ok {
				doc[k] = mergeAppend(dv, pv)
			} else {
				doc[k] = mergeAppend(nil, pv)
			}
		case []any:
			if dv, ok := doc[k].([]any); ok {
				doc[k] = append(dv, pv...)
			} else {
				doc[k] = pv
			}
		default:
			doc[k] = pv
		}
	}
	return doc
}
