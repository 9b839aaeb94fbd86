<?php

// Boots just enough of Laravel 8, as Debian's php-laravel-framework lays
// it out under /usr/share/php (one autoload.php per component, found on
// the include path; no composer), to queue jobs and run the real queue
// worker against the database named by the HARNESS_DB_* environment:
//
//   HARNESS_DB_DRIVER    sqlite | pgsql | mysql
//   HARNESS_DB_DATABASE  the SQLite file, or the database name
//   HARNESS_DB_HOST, HARNESS_DB_PORT, HARNESS_DB_USERNAME,
//   HARNESS_DB_PASSWORD  the server (pgsql, mysql)
//   HARNESS_DB_SCHEMA    PostgreSQL's search_path
//   HARNESS_DB_SSLMODE   PostgreSQL's sslmode (prefer)
//
// The wiring follows Laravel 8's service providers: the database capsule
// for the `db` binding, QueueManager with a `database` connection (table
// jobs, retry_after 90), DatabaseUuidFailedJobProvider on failed_jobs as
// `queue.failer`, the events dispatcher, the bus, an array cache and the
// Worker.

foreach (['Container', 'Config', 'Events', 'Database', 'Queue', 'Bus',
    'Cache', 'Console', 'Support'] as $component) {
    require_once "Illuminate/$component/autoload.php";
}
require_once __DIR__.'/FlakyJob.php';

use Illuminate\Bus\Dispatcher as Bus;
use Illuminate\Cache\ArrayStore;
use Illuminate\Cache\Repository as Cache;
use Illuminate\Config\Repository as Config;
use Illuminate\Container\Container;
use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Database\Capsule\Manager as Capsule;
use Illuminate\Events\Dispatcher as Events;
use Illuminate\Queue\Failed\DatabaseUuidFailedJobProvider;
use Illuminate\Queue\QueueManager;
use Illuminate\Queue\QueueServiceProvider;
use Illuminate\Queue\Worker;
use Illuminate\Support\Facades\Facade;

// HarnessApp is the container; the worker asks it whether the
// application is down for maintenance, as it asks Laravel's Application.
class HarnessApp extends Container
{
    public function isDownForMaintenance()
    {
        return false;
    }

    public function environment(...$environments)
    {
        return 'testing';
    }
}

// StderrHandler is the exception handler: the worker reports each job's
// exception to it, and it writes the first line to stderr.
class StderrHandler implements ExceptionHandler
{
    public function report(Throwable $e)
    {
        fwrite(STDERR, 'reported: '.get_class($e).': '.$e->getMessage()."\n");
    }

    public function shouldReport(Throwable $e)
    {
        return true;
    }

    public function render($request, Throwable $e)
    {
        throw $e;
    }

    public function renderForConsole($output, Throwable $e)
    {
        $output->writeln((string) $e);
    }
}

function harness_env(string $name, string $default = ''): string
{
    $v = getenv($name);
    return $v === false ? $default : $v;
}

function harness_boot(): HarnessApp
{
    // config('app.timezone') of the skeleton: failed_at is written in it.
    date_default_timezone_set('UTC');

    $app = new HarnessApp;
    Container::setInstance($app);
    $app->instance(Illuminate\Contracts\Container\Container::class, $app);
    $app->instance('config', new Config([
        'queue' => [
            'default' => 'database',
            'connections' => [
                'database' => [
                    'driver' => 'database',
                    'table' => 'jobs',
                    'queue' => 'default',
                    'retry_after' => 90,
                    'after_commit' => false,
                ],
            ],
            'failed' => [
                'driver' => 'database-uuids',
                'database' => 'default',
                'table' => 'failed_jobs',
            ],
        ],
    ]));

    $events = new Events($app);
    $app->instance('events', $events);
    $app->instance(Illuminate\Contracts\Events\Dispatcher::class, $events);

    $capsule = new Capsule($app);
    $capsule->addConnection(harness_connection());
    $capsule->setEventDispatcher($events);
    $capsule->setAsGlobal();
    $app->instance('db', $capsule->getDatabaseManager());

    $queue = new QueueManager($app);
    (new QueueServiceProvider($app))->registerConnectors($queue);
    $app->instance('queue', $queue);
    $app->instance(Illuminate\Contracts\Queue\Factory::class, $queue);
    $app->instance('queue.failer', new DatabaseUuidFailedJobProvider(
        $app['db'], 'default', 'failed_jobs'));

    $bus = new Bus($app, function ($connection = null) use ($queue) {
        return $queue->connection($connection);
    });
    $app->instance(Illuminate\Contracts\Bus\Dispatcher::class, $bus);
    $app->instance(Illuminate\Contracts\Bus\QueueingDispatcher::class, $bus);

    $cache = new Cache(new ArrayStore);
    $app->instance(Illuminate\Contracts\Cache\Repository::class, $cache);
    $handler = new StderrHandler;
    $app->instance(ExceptionHandler::class, $handler);
    $app->instance(Worker::class, new Worker($queue, $events, $handler,
        function () use ($app) {
            return $app->isDownForMaintenance();
        }));

    return $app;
}

// harness_connection is config('database.connections.default') from the
// environment, as the skeleton's config/database.php builds it.
function harness_connection(): array
{
    $driver = harness_env('HARNESS_DB_DRIVER', 'sqlite');
    $c = [
        'driver' => $driver,
        'database' => harness_env('HARNESS_DB_DATABASE'),
        'prefix' => '',
    ];
    switch ($driver) {
        case 'sqlite':
            $c['foreign_key_constraints'] = true;
            break;
        case 'pgsql':
            $c += [
                'host' => harness_env('HARNESS_DB_HOST', '127.0.0.1'),
                'port' => harness_env('HARNESS_DB_PORT', '5432'),
                'username' => harness_env('HARNESS_DB_USERNAME'),
                'password' => harness_env('HARNESS_DB_PASSWORD'),
                'charset' => 'utf8',
                'schema' => harness_env('HARNESS_DB_SCHEMA', 'public'),
                'sslmode' => harness_env('HARNESS_DB_SSLMODE', 'prefer'),
            ];
            break;
        case 'mysql':
            $c += [
                'host' => harness_env('HARNESS_DB_HOST', '127.0.0.1'),
                'port' => harness_env('HARNESS_DB_PORT', '3306'),
                'username' => harness_env('HARNESS_DB_USERNAME'),
                'password' => harness_env('HARNESS_DB_PASSWORD'),
                'charset' => 'utf8mb4',
                'collation' => 'utf8mb4_unicode_ci',
                'strict' => true,
                'engine' => null,
            ];
            break;
        default:
            throw new InvalidArgumentException("unknown HARNESS_DB_DRIVER [$driver]");
    }
    return $c;
}
