package fusionauth

import (
	"encoding/json"
	"mime"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// Content types that select a PATCH semantics.
const (
	contentJSON      = "application/json"
	contentMerge     = "application/merge-patch+json"
	contentJSONPatch = "application/json-patch+json"
)

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
		if err := decodeJSON(body, &map[string]any{}); err != nil {
			return nil, err
		}
		out, err := jsonpatch.MergePatch(current, body)
		if err != nil {
			return nil, generalError("invalidJSON", "Invalid JSON merge patch: "+err.Error()+".")
		}
		return out, nil
	case contentJSONPatch:
		if err := decodeJSON(body, &[]any{}); err != nil {
			return nil, err
		}
		p, err := jsonpatch.DecodePatch(body)
		if err != nil {
			return nil, generalError("invalidJSON", "Invalid JSON patch: "+err.Error()+".")
		}
		out, err := p.ApplyWithOptions(current, &jsonpatch.ApplyOptions{
			SupportNegativeIndices:   true,
			AccumulatedCopySizeLimit: 1 << 20,
		})
		if err != nil {
			return nil, generalError("invalid", "The JSON patch cannot be applied: "+err.Error()+".")
		}
		return out, nil
	}
	return nil, generalError("invalid", "PATCH takes a body of type application/json, application/merge-patch+json or application/json-patch+json.")
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
