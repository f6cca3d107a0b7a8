/**
 * Compile-time only (issue 14 item 9): a command checks the answers it reads with its own small
 * schema, tolerant of fields it does not use. `Fits<RouteAnswer, Read>` holds only while the
 * route's answer type — made from the route's own schema and exported by its part (`RegistryApi`,
 * `OtaApi`, `AlertsApi`, `DashboardApi`), the same types the web app imports — still satisfies
 * what the command reads: a route whose answer changes breaks the build of the CLI as of the app.
 */
export type Fits<RouteAnswer extends Read, Read> = RouteAnswer;
