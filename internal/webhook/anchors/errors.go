package anchors

import "errors"

var errMissingObject = errors.New("admission request lacks the anchor object")
