// A stand-in for edge_functions/tenant_router of the main repository: this example shows
// the layout of a repository with environments, not a second implementation.
import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(new URL("./config.json", import.meta.url), "utf8"));

export const handler = async (event) => {
  const request = event.Records[0].cf.request;
  request.headers["x-routing-table"] = [{ key: "X-Routing-Table", value: config.tableName }];
  return request;
};
