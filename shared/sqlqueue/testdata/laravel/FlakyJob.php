<?php

namespace App\Jobs;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Database\Capsule\Manager as DB;
use Illuminate\Queue\InteractsWithQueue;
use RuntimeException;

// FlakyJob fails while harness_state.mode is "fail" and otherwise records
// that it ran, under its payload uuid, in harness_runs.
class FlakyJob implements ShouldQueue
{
    use InteractsWithQueue, Queueable;

    // The name the test knows the job by.
    public $name;

    // How many times the job may be attempted (payload maxTries).
    public $tries;

    // How many exceptions fail the job (payload maxExceptions).
    public $maxExceptions;

    // The epoch second after which the job may no longer be attempted
    // (payload retryUntil), or null.
    public $deadline;

    public function __construct(string $name)
    {
        $this->name = $name;
    }

    public function retryUntil()
    {
        return $this->deadline;
    }

    public function handle()
    {
        $mode = DB::table('harness_state')->where('id', 1)->value('mode');
        if ($mode !== 'succeed') {
            throw new RuntimeException("flaky job {$this->name} told to fail");
        }
        DB::table('harness_runs')->insert([
            'uuid' => $this->job->uuid(),
            'name' => $this->name,
            'queue' => $this->job->getQueue(),
            'attempts' => $this->job->attempts(),
        ]);
    }
}
