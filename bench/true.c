/* The trivial program of bench/spawn.c: it exits at once. */
int main(void)
{
	return 0;
}
