<?php

// A minimal Laravel 8 application for laravel_test.go: it queues jobs and
// runs Laravel's own queue worker on the database named by HARNESS_DB_*
// (see bootstrap.php). Every command prints JSON, or the worker's output.
//
//   php harness.php probe           {"framework": VERSION|"", "drivers": [...]}
//   php harness.php setup           create harness_state, harness_runs; mode fail
//   php harness.php mode fail|succeed
//   php harness.php dispatch < JOBS queue JOBS, a JSON list of {name, queue,
//                                   via: dispatch|push, tries, max_exceptions,
//                                   deadline: seconds from now}; prints
//                                   [{name, queue, id, uuid}]
//   php harness.php work ARGS...    php artisan queue:work database ARGS...
//   php harness.php failed          queue.failer->all(), as queue:failed reads it

use Illuminate\Console\Application as Artisan;
use Illuminate\Database\Capsule\Manager as DB;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Queue\Console\WorkCommand;
use Symfony\Component\Console\Input\ArgvInput;

error_reporting(E_ALL);
set_error_handler(function ($level, $message, $file, $line) {
    throw new ErrorException($message, 0, $level, $file, $line);
});

$command = $argv[1] ?? '';
if ($command === 'probe') {
    echo json_encode(['framework' => framework_version(),
        'drivers' => class_exists(PDO::class) ? PDO::getAvailableDrivers() : []]), "\n";
    exit(0);
}

require __DIR__.'/bootstrap.php';
$app = harness_boot();

switch ($command) {
    case 'setup':
        $schema = DB::schema();
        $schema->create('harness_state', function (Blueprint $t) {
            $t->integer('id')->primary();
            $t->string('mode');
        });
        $schema->create('harness_runs', function (Blueprint $t) {
            $t->id();
            $t->string('uuid');
            $t->string('name');
            $t->string('queue');
            $t->unsignedInteger('attempts');
        });
        DB::table('harness_state')->insert(['id' => 1, 'mode' => 'fail']);
        echo json_encode(['mode' => 'fail']), "\n";
        break;

    case 'mode':
        $mode = $argv[2] ?? '';
        if (! in_array($mode, ['fail', 'succeed'], true)) {
            fwrite(STDERR, "usage: harness.php mode fail|succeed\n");
            exit(2);
        }
        DB::table('harness_state')->where('id', 1)->update(['mode' => $mode]);
        echo json_encode(['mode' => $mode]), "\n";
        break;

    case 'dispatch':
        $out = [];
        foreach (json_decode(stream_get_contents(STDIN), true, 16, JSON_THROW_ON_ERROR) as $spec) {
            $job = new App\Jobs\FlakyJob($spec['name']);
            $job->tries = $spec['tries'] ?? null;
            $job->maxExceptions = $spec['max_exceptions'] ?? null;
            if (isset($spec['deadline'])) {
                $job->deadline = time() + $spec['deadline'];
            }
            if (($spec['via'] ?? 'dispatch') === 'push') {
                // Queue::push($job, '', $queue)
                $id = $app['queue']->connection()->push($job, '', $spec['queue']);
            } else {
                // dispatch($job->onQueue($queue)), as the Dispatchable trait does.
                $id = $app[Illuminate\Contracts\Bus\Dispatcher::class]
                    ->dispatch($job->onQueue($spec['queue']));
            }
            $row = DB::table('jobs')->find($id);
            $out[] = ['name' => $spec['name'], 'queue' => $row->queue, 'id' => (int) $id,
                'uuid' => json_decode($row->payload, true)['uuid']];
        }
        echo json_encode($out), "\n";
        break;

    case 'work':
        $artisan = new Artisan($app, $app['events'], framework_version());
        $artisan->add($app->make(WorkCommand::class));
        exit($artisan->run(new ArgvInput(array_merge(
            ['artisan', 'queue:work', 'database'], array_slice($argv, 2)))));

    case 'failed':
        $out = [];
        foreach ($app['queue.failer']->all() as $job) {
            $out[] = ['id' => $job->id, 'connection' => $job->connection,
                'queue' => $job->queue, 'failed_at' => (string) $job->failed_at,
                'exception' => strtok($job->exception, "\n"),
                'payload_uuid' => json_decode($job->payload, true)['uuid'] ?? null];
        }
        echo json_encode($out), "\n";
        break;

    default:
        fwrite(STDERR, "usage: harness.php probe|setup|mode|dispatch|work|failed\n");
        exit(2);
}

// framework_version is Laravel's version from Debian's files, or "" when
// the framework is not on the include path.
function framework_version(): string
{
    $file = stream_resolve_include_path('Illuminate/Foundation/Application.php');
    if ($file === false || ! stream_resolve_include_path('Illuminate/Queue/autoload.php')) {
        return '';
    }
    preg_match("/const VERSION = '([^']+)'/", file_get_contents($file), $m);
    return $m[1] ?? 'unknown';
}
