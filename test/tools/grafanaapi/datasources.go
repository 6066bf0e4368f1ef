package grafanaapi

import (
	"net/http"
	"sort"

	"github.com/grafana/grafana-openapi-client-go/models"
)

// datasourceDTO is what Grafana answers for a datasource: never the
// secure values, only which keys are set.
func datasourceDTO(o *Org, ds *Datasource) *models.DataSource {
	fields := map[string]bool{}
	for k := range ds.SecureJSONData {
		fields[k] = true
	}
	jsonData := ds.JSONData
	if jsonData == nil {
		jsonData = map[string]any{}
	}
	return &models.DataSource{ID: ds.ID, UID: ds.UID, OrgID: o.ID, Name: ds.Name, Type: ds.Type, URL: ds.URL,
		Access: models.DsAccess(ds.Access), IsDefault: ds.IsDefault, JSONData: cloneJSON(jsonData),
		SecureJSONFields: fields, Version: ds.Version, TypeLogoURL: "public/app/plugins/datasource/" + ds.Type + "/img/logo.svg"}
}

// unmodelled refuses the datasource fields the double does not model, so
// a change that starts using one fails here rather than passing untested.
func unmodelled(q *request, basicAuth bool, basicAuthUser, user, database string, withCredentials bool) bool {
	if basicAuth || basicAuthUser != "" || user != "" || database != "" || withCredentials {
		writeError(q.w, http.StatusBadRequest, "basicAuth, user, database and withCredentials are not modelled by the double")
		return true
	}
	return false
}

func (s *Server) createDatasource(q *request) {
	var body models.AddDataSourceCommand
	if !q.decodeStrict(&body) || unmodelled(q, body.BasicAuth, body.BasicAuthUser, body.User, body.Database, body.WithCredentials) {
		return
	}
	o := q.org(s)
	switch {
	case body.Name == "" || body.Type == "":
		writeError(q.w, http.StatusBadRequest, "name and type are required")
		return
	case body.UID == "":
		body.UID = "ds" + itoa(s.state.NewID())
	case !validUID(body.UID):
		writeError(q.w, http.StatusBadRequest, "uid contains illegal characters or is too long")
		return
	}
	if o.Datasources[body.UID] != nil {
		writeError(q.w, http.StatusConflict, "data source with the same uid already exists")
		return
	}
	if other := datasourceNamed(o, body.Name); other != nil {
		writeError(q.w, http.StatusConflict, "data source with the same name already exists")
		return
	}
	access := string(body.Access)
	if access == "" {
		access = "proxy"
	}
	jsonData, ok := jsonObject(q, body.JSONData)
	if !ok {
		return
	}
	ds := &Datasource{ID: s.state.NewID(), UID: body.UID, Name: body.Name, Type: body.Type, URL: body.URL, Access: access,
		IsDefault: body.IsDefault, JSONData: jsonData, SecureJSONData: body.SecureJSONData, Version: 1}
	s.makeDefault(o, ds)
	o.Datasources[ds.UID] = ds
	writeJSON(q.w, http.StatusOK, models.AddDataSourceOKBody{Datasource: datasourceDTO(o, ds), ID: ptr(ds.ID),
		Message: ptr("Datasource added"), Name: ptr(ds.Name)})
}

// makeDefault keeps at most one default datasource per organization.
func (s *Server) makeDefault(o *Org, ds *Datasource) {
	if !ds.IsDefault {
		return
	}
	for _, other := range o.Datasources {
		if other.UID != ds.UID {
			other.IsDefault = false
		}
	}
}

func datasourceNamed(o *Org, name string) *Datasource {
	for _, ds := range o.Datasources {
		if ds.Name == name {
			return ds
		}
	}
	return nil
}

func jsonObject(q *request, v models.JSON) (map[string]any, bool) {
	if v == nil {
		return map[string]any{}, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		writeError(q.w, http.StatusBadRequest, "jsonData must be an object")
	}
	return m, ok
}

func (s *Server) datasourceParam(q *request) (*Org, *Datasource) {
	o := q.org(s)
	ds := o.Datasources[q.params["uid"]]
	if ds == nil {
		writeError(q.w, http.StatusNotFound, "Data source not found")
	}
	return o, ds
}

func (s *Server) getDatasource(q *request) {
	o, ds := s.datasourceParam(q)
	if ds != nil {
		writeJSON(q.w, http.StatusOK, datasourceDTO(o, ds))
	}
}

// updateDatasource is PUT /api/datasources/uid/:uid. Secure values that
// are not sent are kept, as in Grafana.
func (s *Server) updateDatasource(q *request) {
	o, ds := s.datasourceParam(q)
	if ds == nil {
		return
	}
	var body models.UpdateDataSourceCommand
	if !q.decodeStrict(&body) || unmodelled(q, body.BasicAuth, body.BasicAuthUser, body.User, body.Database, body.WithCredentials) {
		return
	}
	switch {
	case body.UID != "" && body.UID != ds.UID:
		writeError(q.w, http.StatusBadRequest, "changing a datasource's uid is not modelled by the double")
		return
	case body.Name == "" || body.Type == "":
		writeError(q.w, http.StatusBadRequest, "name and type are required")
		return
	case body.Version != 0 && body.Version != ds.Version:
		writeError(q.w, http.StatusConflict, "Datasource has already been updated by someone else. Please reload and try again")
		return
	}
	if other := datasourceNamed(o, body.Name); other != nil && other != ds {
		writeError(q.w, http.StatusConflict, "data source with the same name already exists")
		return
	}
	jsonData, ok := jsonObject(q, body.JSONData)
	if !ok {
		return
	}
	secure := map[string]string{}
	for k, v := range ds.SecureJSONData {
		secure[k] = v
	}
	for k, v := range body.SecureJSONData {
		secure[k] = v
	}
	access := string(body.Access)
	if access == "" {
		access = "proxy"
	}
	ds.Name, ds.Type, ds.URL, ds.Access, ds.IsDefault = body.Name, body.Type, body.URL, access, body.IsDefault
	ds.JSONData, ds.SecureJSONData = jsonData, secure
	ds.Version++
	s.makeDefault(o, ds)
	writeJSON(q.w, http.StatusOK, models.UpdateDataSourceByUIDOKBody{Datasource: datasourceDTO(o, ds), ID: ptr(ds.ID),
		Message: ptr("Datasource updated"), Name: ptr(ds.Name)})
}

func (s *Server) deleteDatasource(q *request) {
	o, ds := s.datasourceParam(q)
	if ds == nil {
		return
	}
	delete(o.Datasources, ds.UID)
	writeJSON(q.w, http.StatusOK, models.SuccessResponseBody{Message: "Data source deleted"})
}

// DatasourceUIDs lists the organization's datasource UIDs, sorted.
func (o *Org) DatasourceUIDs() []string {
	out := sortedKeys(o.Datasources)
	sort.Strings(out)
	return out
}
