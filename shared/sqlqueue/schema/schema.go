// Package schema holds the DDL of Laravel's database queue tables, as
// Laravel's schema grammar writes it for each engine. Package sqlqueue
// never creates tables; this is for tests and demo databases.
package schema

import "fmt"

// Statements returns the statements that create the tables jobs and failed
// (usually "jobs" and "failed_jobs") with the DDL Laravel's schema
// grammar writes for engine, "sqlite", "postgres" or "mysql" (MySQL and
// MariaDB): the queue:table and failed_jobs migrations of Laravel 8 to
// 12, with their indexes and nothing more. The names are written as they
// are, quoted but not escaped. An unknown engine is an error.
func Statements(engine, jobs, failed string) ([]string, error) {
	switch engine {
	case "postgres":
		return []string{
			`create table "` + jobs + `" ("id" bigserial not null primary key, ` +
				`"queue" varchar(255) not null, "payload" text not null, ` +
				`"attempts" smallint not null, "reserved_at" integer null, ` +
				`"available_at" integer not null, "created_at" integer not null)`,
			`create index "` + jobs + `_queue_index" on "` + jobs + `" ("queue")`,
			`create table "` + failed + `" ("id" bigserial not null primary key, ` +
				`"uuid" varchar(255) not null, "connection" text not null, ` +
				`"queue" text not null, "payload" text not null, ` +
				`"exception" text not null, "failed_at" timestamp(0) without time zone ` +
				`not null default CURRENT_TIMESTAMP)`,
			`alter table "` + failed + `" add constraint "` + failed +
				`_uuid_unique" unique ("uuid")`,
		}, nil
	case "mysql":
		tail := ` default character set utf8mb4 collate 'utf8mb4_unicode_ci'`
		return []string{
			"create table `" + jobs + "` (`id` bigint unsigned not null " +
				"auto_increment primary key, `queue` varchar(255) not null, " +
				"`payload` longtext not null, `attempts` tinyint unsigned not null, " +
				"`reserved_at` int unsigned null, `available_at` int unsigned not null, " +
				"`created_at` int unsigned not null)" + tail,
			"alter table `" + jobs + "` add index `" + jobs + "_queue_index`(`queue`)",
			"create table `" + failed + "` (`id` bigint unsigned not null " +
				"auto_increment primary key, `uuid` varchar(255) not null, " +
				"`connection` text not null, `queue` text not null, " +
				"`payload` longtext not null, `exception` longtext not null, " +
				"`failed_at` timestamp not null default CURRENT_TIMESTAMP)" + tail,
			"alter table `" + failed + "` add unique `" + failed + "_uuid_unique`(`uuid`)",
		}, nil
	case "sqlite":
		return []string{
			`create table "` + jobs + `" ("id" integer primary key autoincrement not null, ` +
				`"queue" varchar not null, "payload" text not null, ` +
				`"attempts" integer not null, "reserved_at" integer, ` +
				`"available_at" integer not null, "created_at" integer not null)`,
			`create index "` + jobs + `_queue_index" on "` + jobs + `" ("queue")`,
			`create table "` + failed + `" ("id" integer primary key autoincrement not null, ` +
				`"uuid" varchar not null, "connection" text not null, "queue" text not null, ` +
				`"payload" text not null, "exception" text not null, ` +
				`"failed_at" datetime not null default CURRENT_TIMESTAMP)`,
			`create unique index "` + failed + `_uuid_unique" on "` + failed + `" ("uuid")`,
		}, nil
	}
	return nil, fmt.Errorf("schema: unknown engine %q", engine)
}
