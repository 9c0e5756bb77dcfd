/* h_settings.c - /api/settings: root's "Global settings", the keys of the `settings` table that
 * services read at run time (lib/db/settings.h is the catalogue: keys, bounds, readers).
 *
 * GET lists every key of the catalogue with its value (null: unset, the reader uses its own
 * CLEMENT_* setting), type, that setting's default, bounds, reader and help. PUT sets one key to an integer within its
 * bounds; DELETE unsets it. Unknown keys are refused (404), so the screen cannot store a
 * value that nothing reads. */
#include <stdlib.h>
#include <string.h>

#include "crud.h"
#include "db/settings.h"
#include "routes.h"
#include "util/buf.h"

/* setting_json - one catalogue entry with its value (a JSON text from the table, or NULL). */
static cJSON *setting_json(const struct cl_db_setting *s, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "key", s->key);
	cJSON *v = value ? cJSON_Parse(value) : NULL;
	cJSON_AddItemToObject(o, "value", v ? v : cJSON_CreateNull());
	cJSON_AddStringToObject(o, "type", "integer");
	cJSON_AddNumberToObject(o, "default", (double)s->def);
	cJSON_AddNumberToObject(o, "min", (double)s->min);
	cJSON_AddNumberToObject(o, "max", (double)s->max);
	cJSON_AddStringToObject(o, "read_by", s->read_by);
	cJSON_AddStringToObject(o, "fallback", s->fallback);
	cJSON_AddStringToObject(o, "help", s->help);
	return o;
}

/* h_settings_list - GET /api/settings: {"items": [...], "total": n}, in catalogue order. */
void h_settings_list(struct api_req *r)
{
	PGresult *res = api_exec_sql(r, "SELECT key, value::text FROM settings", 0, NULL);
	if (!res)
		return;
	cJSON *items = cJSON_CreateArray();
	for (size_t i = 0; i < cl_db_settings_count; i++) {
		const char *value = NULL;
		for (int row = 0; row < PQntuples(res); row++)
			if (strcmp(PQgetvalue(res, row, 0), cl_db_settings[i].key) == 0)
				value = PQgetvalue(res, row, 1);
		cJSON_AddItemToArray(items, setting_json(&cl_db_settings[i], value));
	}
	PQclear(res);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "items", items);
	cJSON_AddNumberToObject(o, "total", (double)cl_db_settings_count);
	api_ok(r, 200, o);
}

/* known - the catalogue entry of the path's key, or NULL after answering 404. */
static const struct cl_db_setting *known(struct api_req *r)
{
	const struct cl_db_setting *s = cl_db_setting_find(r->arg[0]);
	if (!s)
		api_err(r, 404, "no such setting: the settings are those GET /api/settings lists");
	return s;
}

/* h_setting_put - PUT /api/settings/{key} {"value": <integer within the key's bounds>} */
void h_setting_put(struct api_req *r)
{
	const struct cl_db_setting *s = known(r);
	if (!s || !api_body_object(r))
		return;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->in, "value");
	if (!v || cJSON_GetArraySize(r->in) != 1) {
		api_err(r, 400, "the body must be {\"value\": <integer>}");
		return;
	}
	double d = cJSON_IsNumber(v) ? v->valuedouble : 0;
	if (!cJSON_IsNumber(v) || d != (double)(long long)d || d < (double)s->min || d > (double)s->max) {
		api_err(r, 400, "%s must be an integer from %lld to %lld", s->key, s->min, s->max);
		return;
	}
	struct qb q;
	qb_init(&q, "INSERT INTO settings (key, value) VALUES (");
	int a = qb_param(&q, s->key), b = qb_param_ll(&q, (long long)d);
	qb_add(&q, "$%d, to_jsonb($%d::bigint)) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", a, b);
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	PQclear(res);
	char text[32];
	cl_snprintf(text, sizeof text, "%lld", (long long)d);
	api_ok(r, 200, setting_json(s, text));
}

/* h_setting_delete - DELETE /api/settings/{key}: back to the reader's own CLEMENT_* setting. */
void h_setting_delete(struct api_req *r)
{
	const struct cl_db_setting *s = known(r);
	if (!s)
		return;
	struct qb q;
	qb_init(&q, "DELETE FROM settings WHERE key = ");
	qb_add(&q, "$%d", qb_param(&q, s->key));
	PGresult *res = api_exec(r, &q);
	qb_free(&q);
	if (!res)
		return;
	PQclear(res);
	api_ok(r, 200, setting_json(s, NULL));
}
