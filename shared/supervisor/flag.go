package supervisor

import "time"

// Flag is a diagnostic option flag. Value is a JSON scalar: a string, a
// json.Number, a bool or nil. UpdatedBy names who last changed it: an
// operator, since only the operators' tool writes flags.
type Flag struct {
	Name        string    `json:"name"`
	Value       any       `json:"value"`
	Description string    `json:"description"`
	UpdatedAt   time.Time `json:"updated_at"`
	UpdatedBy   string    `json:"updated_by"`
}
